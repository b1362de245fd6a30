import { StrictMode, Suspense, useEffect, useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { App as AntApp, Button, ConfigProvider, Layout, Menu, Space, Spin, Typography } from 'antd';
import zhCN from 'antd/locale/zh_CN';
import enUS from 'antd/locale/en_US';
import { session, type User } from './api.ts';
import { LangContext, useT, type Lang } from './i18n.tsx';
import { navigate, useRoute } from './router.ts';
import { homeFor, pagesFor } from './pages.ts';
import { Login } from './Login.tsx';

const LANG_KEY = 'zt.lang';

function Shell({ user, onSignOut }: { user: User; onSignOut: () => void }) {
  const route = useRoute();
  const { t, lang, setLang } = useT();
  const pages = pagesFor(user.role);
  const page = pages.find((p) => route.path.startsWith(p.path));
  useEffect(() => {
    if (!page) navigate(homeFor(user.role), true);
  }, [page, user.role]);
  return (
    <Layout style={{ minHeight: '100vh' }}>
      <Layout.Header style={{ display: 'flex', alignItems: 'center', gap: 12, padding: '0 12px' }}>
        <Typography.Text strong style={{ color: '#fff', whiteSpace: 'nowrap' }}>{t('appName')}</Typography.Text>
        <Menu
          theme="dark" mode="horizontal" style={{ flex: 1, minWidth: 0 }}
          selectedKeys={page ? [page.path] : []}
          items={pages.map((p) => ({ key: p.path, label: t(p.title) }))}
          onClick={(e) => navigate(e.key)}
        />
        <Space size={4}>
          <Typography.Text style={{ color: '#ddd', whiteSpace: 'nowrap' }} data-testid="user-name">{user.name}</Typography.Text>
          <Button size="small" onClick={() => setLang(lang === 'zh' ? 'en' : 'zh')} data-testid="lang-toggle">{t('language')}</Button>
          <Button size="small" onClick={onSignOut} data-testid="sign-out">{t('signOut')}</Button>
        </Space>
      </Layout.Header>
      <Layout.Content style={{ padding: 12 }}>
        <Suspense fallback={<Spin />}>{page ? <page.component /> : null}</Suspense>
      </Layout.Content>
    </Layout>
  );
}

function Root() {
  const [lang, setLangState] = useState<Lang>(() => (localStorage.getItem(LANG_KEY) === 'en' ? 'en' : 'zh'));
  const [user, setUser] = useState<User | null>(() => (session.token() ? session.user() : null));
  const setLang = (l: Lang) => {
    localStorage.setItem(LANG_KEY, l);
    document.documentElement.lang = l === 'zh' ? 'zh-CN' : 'en';
    setLangState(l);
  };
  useEffect(() => {
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
    const out = () => setUser(null);
    window.addEventListener('zt-signed-out', out);
    return () => window.removeEventListener('zt-signed-out', out);
  }, [lang]);
  const langValue = useMemo(() => ({ lang, setLang }), [lang]);
  // who asks the system for less motion (prefers-reduced-motion) gets dialogs, menus and messages without animation
  const motion = useMemo(() => !window.matchMedia('(prefers-reduced-motion: reduce)').matches, []);
  return (
    <LangContext.Provider value={langValue}>
      <ConfigProvider locale={lang === 'zh' ? zhCN : enUS} theme={{ token: { colorPrimary: '#00706b', motion } }}>
        <AntApp>
          {user ? (
            <Shell user={user} onSignOut={() => { session.clear(); setUser(null); navigate('/'); }} />
          ) : (
            <Login onSignedIn={(u) => { setUser(u); navigate(homeFor(u.role), true); }} />
          )}
        </AntApp>
      </ConfigProvider>
    </LangContext.Provider>
  );
}

createRoot(document.getElementById('root')!).render(<StrictMode><Root /></StrictMode>);
