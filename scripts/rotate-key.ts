/** Re-encrypts every stored secret under a new key; see broker/src/vault/rotate-cli.ts. */
import { rotateKeyCommand } from '../broker/src/vault/rotate-cli';

process.exitCode = await rotateKeyCommand(process.argv.slice(2), { env: process.env, print: (line) => console.log(line) });
