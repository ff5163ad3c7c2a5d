import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import { createStaffCommand } from '../../src/staff/commands';
import { browserOn, chromiumAvailable, seriousViolations, type BrowserOnApp } from '../support/browser';
import { testEnv } from '../support/env';

/** Staff sign-in in a real browser: the set-password link, the form, the console and sign-out, served by the app over loopback. */
describe('console sign-in in a real browser', function () {
  this.timeout(60_000); // a browser start and an axe run on a shared 2-core machine
  let on: BrowserOnApp | null = null;
  let browser: Browser;
  let base: string;

  before(async function () {
    if (!chromiumAvailable()) this.skip();
    on = await browserOn(testEnv().app);
    ({ browser, base } = on);
  });
  after(async () => {
    await on?.close();
  });

  const seriousOf = seriousViolations;

  it('when a new person follows their link, chooses a password and signs in, then the console names them, and signing out ends the session', async () => {
    const login = `browser-${Math.random().toString(36).slice(2, 8)}`;
    const { url } = await createStaffCommand(testEnv().knex, testEnv().config, { login, name: '王芳', roles: 'clerk,approver', courts: '1411' });
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      expect((await page.goto(`${base}${new URL(url!).pathname}`))!.status()).to.equal(200);
      expect(await seriousOf(page)).to.deep.equal([]);
      await page.getByLabel('新密码', { exact: true }).fill('a browser password');
      await page.getByLabel('再次输入新密码').fill('a browser password');
      await page.getByRole('button', { name: '保存密码' }).click();
      await page.waitForURL(/\/console\/login\?done=password$/);
      expect(await page.getByRole('status').innerText()).to.include('密码已设置');

      await page.getByLabel('登录名', { exact: true }).fill(login);
      await page.getByLabel('密码', { exact: true }).fill('a browser password');
      await page.getByRole('button', { name: '登录' }).click();
      await page.waitForURL(`${base}/console`);
      expect(await page.locator('h1').innerText()).to.equal('您好，王芳');
      expect(await page.locator('main').innerText()).to.include('收费员').and.include('审批人').and.include('太原市小店区人民法院');
      const cookie = (await context.cookies()).find((c) => c.name === 'courtpay_session')!;
      expect(cookie).to.include({ httpOnly: true, sameSite: 'Lax', path: '/' });
      expect(await page.evaluate(() => document.cookie)).not.to.include('courtpay_session');
      expect(await seriousOf(page)).to.deep.equal([]);

      await page.getByRole('button', { name: '退出登录' }).click();
      await page.waitForURL(/\/console\/login\?done=signed_out$/);
      await page.goto(`${base}/console`);
      expect(page.url()).to.match(/\/console\/login/);
      const rows = await testEnv().knex('staff_sessions as ss').join('staff as s', 's.id', 'ss.staff_id').where('s.login', login).select('ss.ended_reason');
      expect(rows.map((r) => r.ended_reason)).to.deep.equal(['signed_out']);
    } finally {
      await context.close();
    }
  });

  for (const lang of ['zh', 'en'] as const) {
    it(`when the sign-in page is opened (${lang}) and a wrong password is sent, then axe finds nothing serious on the form or its error, and the error is announced`, async () => {
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        await page.goto(`${base}/console/login?lang=${lang}`);
        expect(await page.getAttribute('html', 'lang')).to.equal(lang === 'zh' ? 'zh-CN' : 'en');
        expect(await seriousOf(page)).to.deep.equal([]);
        await page.locator('#login').fill(`nobody-${lang}`);
        await page.locator('#password').fill('not the password');
        await page.locator('button[type=submit]').click();
        await page.waitForLoadState();
        expect(await page.getByRole('alert').innerText()).to.include(lang === 'zh' ? '登录名或密码不正确' : 'The login or password is not right');
        expect(await page.locator('#login').inputValue()).to.equal(`nobody-${lang}`);
        expect(await page.locator('#password').inputValue()).to.equal('');
        expect(await seriousOf(page)).to.deep.equal([]);
      } finally {
        await context.close();
      }
    });
  }
});
