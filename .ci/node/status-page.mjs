// Opens the gateway's status page in headless Chromium (Debian's, driven by playwright-core) with the admin key
// in X-API-Key, waits for its connections' table and its SVG chart, and fails if the page asks for anything from
// a host other than the gateway's. Run by .ci/status-page:
//   STATUS_ADMIN_KEY=... node .ci/node/status-page.mjs PORT SCREENSHOT
// The gateway is reached as gateway.test and every request to another host is aborted (see gateway-page.mjs).
import { finish, openGatewayPage } from './gateway-page.mjs';

const [port, screenshot] = process.argv.slice(2);
const adminKey = process.env.STATUS_ADMIN_KEY;
if (!port || !screenshot || !adminKey) {
  console.error('usage: STATUS_ADMIN_KEY=... node status-page.mjs PORT SCREENSHOT');
  process.exit(2);
}
const opened = await openGatewayPage(port, {
  viewport: { width: 1100, height: 800 },
  headers: { 'x-api-key': adminKey },
});
const { page, origin } = opened;
let failed = false;
try {
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
} catch (error) {
  console.log(`status-page: ${error}`);
  failed = true;
}
await finish('status-page', port, opened, failed);
