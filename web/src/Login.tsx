import { useState } from 'react';
import { Alert, Button, Card, Form, Input, Segmented, Space, Typography } from 'antd';
import { api, ApiError, session, type User } from './api.ts';
import { useT } from './i18n.tsx';

/** Staff sign in with their staff code, customers with their 10-digit customer number. */
export function Login({ onSignedIn }: { onSignedIn: (u: User) => void }) {
  const { t, lang, setLang } = useT();
  const [kind, setKind] = useState<'staff' | 'customer'>('staff');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (v: { id: string; password: string }) => {
    setBusy(true);
    setError(null);
    try {
      const res = kind === 'staff'
        ? await api<{ token: string; user: User }>('/auth/login', { method: 'POST', body: { username: v.id.trim(), password: v.password } })
        : await api<{ token: string; user: User }>('/auth/customer-login', { method: 'POST', body: { number: v.id.trim(), password: v.password } });
      session.save(res.token, res.user);
      onSignedIn(res.user);
    } catch (e) {
      setError(e instanceof ApiError && e.status === 401 ? t('badCredentials') : String((e as Error).message));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div style={{ minHeight: '100vh', display: 'grid', placeItems: 'center', background: '#f0f4f4', padding: 16 }}>
      <Card style={{ width: '100%', maxWidth: 380 }}>
        <Space orientation="vertical" style={{ width: '100%' }} size="middle">
          <Space style={{ justifyContent: 'space-between', width: '100%' }}>
            <Typography.Title level={3} style={{ margin: 0 }}>{t('appName')}</Typography.Title>
            <Button size="small" onClick={() => setLang(lang === 'zh' ? 'en' : 'zh')} data-testid="lang-toggle">{t('language')}</Button>
          </Space>
          <Segmented block value={kind} onChange={(v) => setKind(v as 'staff' | 'customer')}
            options={[{ value: 'staff', label: t('staff') }, { value: 'customer', label: t('customer') }]} data-testid="login-kind" />
          <Form layout="vertical" onFinish={submit} key={kind}>
            <Form.Item name="id" label={kind === 'staff' ? t('username') : t('customerNumber')} rules={[{ required: true }]}>
              <Input autoComplete="username" data-testid="login-id" />
            </Form.Item>
            <Form.Item name="password" label={t('password')} rules={[{ required: true }]}>
              <Input.Password autoComplete="current-password" data-testid="login-password" />
            </Form.Item>
            {error && <Alert type="error" message={error} style={{ marginBottom: 12 }} />}
            <Button type="primary" htmlType="submit" block loading={busy} data-testid="login-submit">{t('signIn')}</Button>
          </Form>
        </Space>
      </Card>
    </div>
  );
}
