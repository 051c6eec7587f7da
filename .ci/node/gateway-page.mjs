// What the browser checks (.ci/node/swagger-ui.mjs, status-page.mjs) share: Debian's Chromium, driven by
// playwright-core, with the gateway reached as gateway.test (mapped to 127.0.0.1 inside Chromium), not as
// localhost: some pages skip outside calls for localhost (Swagger UI's validator badge among them), and a check on
// localhost would miss what a real host name gets. Every request to another host is aborted and recorded, so
// nothing leaves the machine and the check can fail on it.
import { chromium } from 'playwright-core';

export const host = 'gateway.test';

// A page of a fresh browser on the gateway at `port`. `headers` go with the gateway's requests only (never
// extraHTTPHeaders, which would send them to any host the page named). Returns the page, the gateway's origin,
// every request made, and those to another host.
export async function openGatewayPage(port, { viewport, headers = {} }) {
  const origin = `http://${host}:${port}`;
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      `--host-resolver-rules=MAP ${host} 127.0.0.1`,
      // Chromium's own traffic (updates, sync, field trials) is not the page's, and this machine has no network
      // for it: off, so the check waits on nothing but the page.
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--disable-gpu',
      '--no-first-run',
      // CI runs as root, where Chromium's sandbox cannot start.
      '--no-sandbox',
    ],
  });
  const requests = [];
  const outside = [];
  const context = await browser.newContext({ viewport });
  // Every request of every page and worker of the context passes here before it is sent.
  await context.route('**/*', (route) => {
    const request = route.request();
    const url = new URL(request.url());
    requests.push(`${request.method()} ${request.url()}`);
    if (url.origin === origin) {
      return route.continue({ headers: { ...request.headers(), ...headers } });
    }
    outside.push(`${request.method()} ${request.url()} (${request.resourceType()}, from ${request.frame().url()})`);
    return route.abort('blockedbyclient');
  });
  // What routing does not see: WebSockets, and requests that fail before routing (a bad scheme, say).
  context.on('requestfailed', (request) => {
    const url = request.url();
    if (!url.startsWith(`${origin}/`) && !outside.some((line) => line.includes(url))) {
      outside.push(`${request.method()} ${url} (${request.resourceType()}, failed: ${request.failure()?.errorText})`);
    }
  });
  const page = await context.newPage();
  page.on('websocket', (socket) => outside.push(`WebSocket ${socket.url()}`));
  return { browser, page, origin, requests, outside };
}

// Closes the browser, prints the requests, and exits 1 if any went to another host or `failed` is set.
export async function finish(name, port, { browser, requests, outside }, failed = false) {
  await browser.close();
  console.log(`${name}: ${requests.length} requests:`);
  for (const line of requests) console.log(`  ${line}`);
  if (outside.length) {
    console.log(`${name}: ${outside.length} requests to a host other than ${host}:${port} (blocked):`);
    for (const line of outside) console.log(`  ${line}`);
    process.exit(1);
  }
  if (failed) process.exit(1);
  console.log(`${name}: no request left ${host}:${port}`);
}
