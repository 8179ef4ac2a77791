// Verifies one Standard Webhooks delivery with the independent npm
// `standardwebhooks` package. Reads {"secret", "headers", "body"} as JSON
// from stdin; exits 0 only when the signature verifies.
import { Webhook } from "standardwebhooks";

let input = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) input += chunk;

try {
  const { secret, headers, body } = JSON.parse(input);
  new Webhook(secret).verify(body, headers);
  console.log("verified");
  process.exit(0);
} catch (err) {
  console.error(`verification failed: ${err && err.message ? err.message : err}`);
  process.exit(1);
}
