// Renders this server's /asyncapi.json with the AsyncAPI React component's standalone bundle (vendored, no CDN).
fetch("/asyncapi.json")
  .then((answer) => answer.json())
  .then((schema) => {
    // eslint-disable-next-line no-undef
    AsyncApiStandalone.render(
      { schema, config: { show: { sidebar: true, errors: true }, sidebar: { showOperations: "byDefault" } } },
      document.getElementById("asyncapi"),
    );
  })
  .catch((err) => {
    document.getElementById("asyncapi").textContent = `Could not load /asyncapi.json: ${err}`;
  });
