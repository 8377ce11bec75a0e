// Validates an AsyncAPI document with the official parser (@asyncapi/parser); prints its diagnostics as JSON.
// Usage: node tests/asyncapi/validate.mjs FILE   (exit 0: no errors; 1: errors; 2: unreadable)
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const text = readFileSync(process.argv[2], "utf8");
const parser = new Parser();
const { document, diagnostics } = await parser.parse(text);
const report = diagnostics.map((d) => ({ severity: d.severity, code: d.code, message: d.message, path: d.path }));
console.log(JSON.stringify({ parsed: Boolean(document), version: document?.version(), diagnostics: report }));
process.exit(document && !report.some((d) => d.severity === 0) ? 0 : 1);
