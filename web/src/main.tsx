import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';

function App() {
  const [health, setHealth] = useState<{ engine: string; time: string } | null>(null);
  useEffect(() => {
    fetch('/api/v1/health').then((r) => r.json()).then(setHealth);
  }, []);
  return (
    <main style={{ fontFamily: 'sans-serif', maxWidth: 720, margin: '2rem auto' }}>
      <h1>ZeroTouch 零接触</h1>
      <p>{health ? `running on ${health.engine}, business time ${health.time}` : 'connecting…'}</p>
    </main>
  );
}

createRoot(document.getElementById('root')!).render(<StrictMode><App /></StrictMode>);
