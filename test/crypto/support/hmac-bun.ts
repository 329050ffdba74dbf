// Run under Bun by test/crypto/id-token-node.test.ts: prints the node:crypto MAC Bun computes.
import { createNodeHs256Mac } from "../../../src/runtime/hmac-node.ts";

const [secret, input] = process.argv.slice(2) as [string, string];
const mac = await createNodeHs256Mac(secret)(new TextEncoder().encode(input));
process.stdout.write(Buffer.from(mac).toString("hex"));
