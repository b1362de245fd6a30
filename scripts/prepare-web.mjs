// npm's `prepare`: build the web app when its build tools are installed. An install without dev
// dependencies (`npm install --omit=dev`) has no vite: it then says so and succeeds, and the server
// shows a status page at / until the web app is built (`npm run build:web`, or web/dist copied in).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
let vite;
try {
  // the package's exports do not list its bin: found from its package.json
  vite = path.join(path.dirname(require.resolve('vite/package.json')), 'bin/vite.js');
} catch {
  console.warn('zerotouch: vite is not installed (an install without dev dependencies): the web app is not built; run `npm run build:web` where it is');
  process.exit(0);
}
const r = spawnSync(process.execPath, [vite, 'build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'], { stdio: 'inherit' });
process.exit(r.status ?? 1);
