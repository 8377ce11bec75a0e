// login.js: the sign-in page. Shows the demo buttons in demo mode (plain forms posting to /demo/login),
// otherwise explains that sessions come from the host application; and when not signed in shows the
// outcome as the service reports it: GET /session's answer and the socket's refusal payload.

import { callService, connectRealtime, decodeEntities } from "./client.js";
import { $, setConnection, signedIn } from "./ui.js";

const config = (await callService("/pages/config")).body || { demo_mode: false };
$(config.demo_mode ? "demo" : "host").hidden = false;

const me = await signedIn();
if (me) {
  $("auth").hidden = true;
  $("signed-in").hidden = false;
  $("signed-in-name").textContent = `${me.username} (${me.role})`;
  $("signed-in-admin").hidden = me.role !== "admin";
} else {
  // What a page's socket gets without a session: the same refusal (an event, or connect_error err.data).
  const probe = connectRealtime({
    namespace: "/",
    options: { reconnection: false },
    onStatus(state, detail) {
      if (state === "refused") {
        $("socket-outcome").textContent = `socket refused: ${decodeEntities(detail.event || "")} ${decodeEntities(detail.error_code || detail.message || "")}`;
        $("socket-outcome").dataset.errorCode = String(detail.error_code || "");
        setConnection("refused", { text: detail.error_code || "refused" });
        probe.close();
      }
      // "connected" first is normal with REFUSAL_MODE=event: the refusal event and disconnect follow.
    },
  });
}
