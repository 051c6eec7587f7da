// Opens the gateway's Swagger UI in headless Chromium and fails if the page asks for anything from a host other
// than the gateway's (see gateway-page.mjs). Run by .ci/swagger-ui:
//   node .ci/node/swagger-ui.mjs PORT SCREENSHOT
import { finish, openGatewayPage } from './gateway-page.mjs';

const [port, screenshot] = process.argv.slice(2);
if (!port || !screenshot) {
  console.error('usage: node swagger-ui.mjs PORT SCREENSHOT');
  process.exit(2);
}
const opened = await openGatewayPage(port, { viewport: { width: 1280, height: 1600 } });
const { page, origin } = opened;
let failed = false;
try {
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
  for (const error of errors) console.log(`swagger-ui: page error: ${error}`);
} catch (error) {
  console.log(`swagger-ui: ${error}`);
  failed = true;
}
await finish('swagger-ui', port, opened, failed);
