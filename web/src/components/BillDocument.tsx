import { useEffect, useState } from 'react';
import { Alert, Modal, Spin } from 'antd';
import { session } from '../api.ts';

/** The electronic bill (电子账单) as billing renders it, fetched with the caller's token and shown in place. */
export function BillDocument({ billId, onClose }: { billId: number | null; onClose: () => void }) {
  const [html, setHtml] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (billId === null) return;
    setHtml(null);
    setError(null);
    fetch(`/api/v1/bills/${billId}/document`, { headers: { authorization: `Bearer ${session.token()}` } })
      .then(async (r) => (r.ok ? setHtml(await r.text()) : setError((await r.json()).message)))
      .catch((e: unknown) => setError(String(e)));
  }, [billId]);
  return (
    <Modal open={billId !== null} onCancel={onClose} footer={null} width={760}>
      {error ? <Alert type="error" message={error} /> : html === null ? <Spin />
        : <iframe title="bill" srcDoc={html} sandbox="" style={{ width: '100%', height: '70vh', border: 0 }} data-testid="bill-document" />}
    </Modal>
  );
}
