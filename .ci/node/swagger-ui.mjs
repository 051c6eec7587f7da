// Opens the gateway's Swagger UI in headless Chromium (Debian's, driven by playwright-core) and fails if the page
// asks for anything from a host other than the gateway's. Run by .ci/swagger-ui:
//   node .ci/node/swagger-ui.mjs PORT SCREENSHOT
// The gateway is reached as gateway.test (mapped to 127.0.0.1 inside Chromium), not as localhost: Swagger UI
// skips some outside calls, its validator badge among them, for localhost, and a check on localhost would miss
// what a real host name gets. Every request to another host is aborted, so nothing leaves the machine.
import { chromium } from 'playwright-core';

const [port, screenshot] = process.argv.slice(2);
if (!port || !screenshot) {
  console.error('usage: node swagger-ui.mjs PORT SCREENSHOT');
  process.exit(2);
}
const host = 'gateway.test';
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
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1600 } });
  // Every request of every page and worker of the context passes here before it is sent.
  await context.route('**/*', (route) => {
    const request = route.request();
    const url = new URL(request.url());
    requests.push(`${request.method()} ${request.url()}`);
    if (url.origin === origin) {
      return route.continue();
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
  const errors = [];
  page.on('pageerror', (error) => errors.push(String(error)));

  await page.goto(`${origin}/swagger-ui/`, { waitUntil: 'load' });
  // The operations are rendered once the document is fetched and parsed.
  await page.locator('.opblock').first().waitFor({ timeout: 30_000 });
  const operations = await page.locator('.opblock').count();
  // What a visitor does first: Authorize (its dialog lists the security schemes), then open an operation.
  await page.locator('.auth-wrapper .authorize').click();
  await page.locator('.modal-ux .auth-container').first().waitFor();
  const schemes = await page.locator('.modal-ux .auth-container').count();
  await page.locator('.modal-ux .close-modal').click();
  await page.locator('.opblock .opblock-summary').first().click();
  await page.locator('.opblock .opblock-body').first().waitFor();
  // Whatever the page starts on its own after rendering (the validator badge fetches after the document).
  await page.waitForLoadState('networkidle');
  await page.screenshot({ path: screenshot, fullPage: true });

  console.log(`swagger-ui: ${origin}/swagger-ui/ rendered ${operations} operations, ${schemes} security schemes;` +
    ` screenshot ${screenshot}`);
  console.log(`swagger-ui: ${requests.length} requests:`);
  for (const line of requests) console.log(`  ${line}`);
  for (const error of errors) console.log(`swagger-ui: page error: ${error}`);
} finally {
  await browser.close();
}
if (outside.length) {
  console.log(`swagger-ui: ${outside.length} requests to a host other than ${host}:${port} (blocked):`);
  for (const line of outside) console.log(`  ${line}`);
  process.exit(1);
}
console.log(`swagger-ui: no request left ${host}:${port}`);
