// The typed API client's schema: reads the gateway's OpenAPI document on stdin, writes TypeScript on stdout.
import { text } from "node:stream/consumers";
import openapiTS, { astToString } from "openapi-typescript";

const HEADER = "// Generated from docs/openapi/gateway.json by `uv run task docs`; do not edit.\n";

const document = JSON.parse(await text(process.stdin));
const nodes = await openapiTS(document, { alphabetize: true });
process.stdout.write(HEADER + astToString(nodes));
