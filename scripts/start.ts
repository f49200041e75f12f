/** `npm start`: brings up the local stack on embedded defaults and prints how to call it. */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startStack } from '../infra/local-stack';

const root = process.cwd();
const stateDir = process.env.CHORUS_STATE_DIR ?? join(root, '.cache/local-stack');
const s3Port = Number(process.env.CHORUS_S3_PORT ?? 4569);
const edgePort = Number(process.env.CHORUS_EDGE_PORT ?? 8787);
const pidFile = join(root, '.cache/chorus.pid');

const stack = await startStack({ root, stateDir, s3Port, edgePort, log: (l) => console.log(`[chorus] ${l}`) });
await writeFile(pidFile, String(process.pid));

const sample = 'Subject: You WON a FREE prize!!!\\n\\nClick http://claim.example.biz/now to claim $1000 cash today!';
console.log(`
Chorus is up.
  edge API     ${stack.edgeUrl}   (OpenAPI: ${stack.edgeUrl}/openapi.json, docs: ${stack.edgeUrl}/docs)
  local S3     ${stack.s3Endpoint}  bucket '${stack.bucket}' (access key / secret: S3RVER / S3RVER)
  admin token  ${stack.adminToken}

Try it:
  curl -s ${stack.edgeUrl}/v1/ensembles/spam/predict \\
    -H 'content-type: application/json' \\
    -d '{"inputs":[{"message":"${sample}"}],"return_members":true}'

Ctrl-C or \`npm stop\` stops everything.`);

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  console.log('\n[chorus] stopping…');
  await stack.stop();
  await rm(pidFile, { force: true });
  process.exit(0);
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
