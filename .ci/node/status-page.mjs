// Opens the gateway's status page in headless Chromium (Debian's, driven by playwright-core) with the admin key
// in X-API-Key, waits for its connections' table and its SVG chart, and fails if the page asks for anything from
// a host other than the gateway's. Run by .ci/status-page:
//   STATUS_ADMIN_KEY=... node .ci/node/status-page.mjs PORT SCREENSHOT
// As in swagger-ui.mjs, the gateway is reached as gateway.test and every request to another host is aborted.
import { chromium } from 'playwright-core';

const [port, screenshot] = process.argv.slice(2);
const adminKey = process.env.STATUS_ADMIN_KEY;
if (!port || !screenshot || !adminKey) {
  console.error('usage: STATUS_ADMIN_KEY=... node status-page.mjs PORT SCREENSHOT');
  process.exit(2);
}
const host = 'gateway.test';
const origin = `http://${host}:${port}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: [
    `--host-resolver-rules=MAP ${host} 127.0.0.1`,
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
let failed = false;
try {
  // The admin key goes only to the gateway: extraHTTPHeaders would send it to any host the page named.
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  await context.route('**/*', (route) => {
    const request = route.request();
    const url = new URL(request.url());
    requests.push(`${request.method()} ${request.url()}`);
    if (url.origin === origin) {
      return route.continue({ headers: { ...request.headers(), 'x-api-key': adminKey } });
    }
    outside.push(`${request.method()} ${request.url()} (${request.resourceType()}, from ${request.frame().url()})`);
    return route.abort('blockedbyclient');
  });
  context.on('requestfailed', (request) => {
    const url = request.url();
    if (!url.startsWith(`${origin}/`) && !outside.some((line) => line.includes(url))) {
      outside.push(`${request.method()} ${url} (${request.resourceType()}, failed: ${request.failure()?.errorText})`);
    }
  });
  const page = await context.newPage();
  page.on('websocket', (socket) => outside.push(`WebSocket ${socket.url()}`));

  const response = await page.goto(`${origin}/status`, { waitUntil: 'load' });
  if (response.status() !== 200) {
    console.log(`status-page: /status answered ${response.status()}`);
    failed = true;
  }
  await page.locator('#connections tbody tr').first().waitFor({ timeout: 30_000 });
  await page.locator('svg#chart rect.admitted').first().waitFor({ state: 'attached', timeout: 30_000 });
  const rows = await page.locator('#connections tbody tr').count();
  // What the chart drew: bars of non-zero height, admitted and refused.
  const bars = await page.locator('svg#chart rect.admitted, svg#chart rect.refused').evaluateAll(
    (rects) => rects.filter((r) => Number(r.getAttribute('height')) > 0).map((r) => r.getAttribute('class')));
  const box = await page.locator('svg#chart').boundingBox();
  if (rows < 1 || !bars.includes('admitted') || !bars.includes('refused') || !box || box.width < 100) {
    console.log(`status-page: ${rows} rows, bars drawn ${JSON.stringify(bars)}, chart box ${JSON.stringify(box)}`);
    failed = true;
  }
  await page.waitForLoadState('networkidle');
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`status-page: ${origin}/status rendered ${rows} connections and a chart of ${bars.length} bars;` +
    ` screenshot ${screenshot}`);
  console.log(`status-page: ${requests.length} requests:`);
  for (const line of requests) console.log(`  ${line}`);
} finally {
  await browser.close();
}
if (outside.length) {
  console.log(`status-page: ${outside.length} requests to a host other than ${host}:${port} (blocked):`);
  for (const line of outside) console.log(`  ${line}`);
  process.exit(1);
}
if (failed) process.exit(1);
console.log(`status-page: no request left ${host}:${port}`);
