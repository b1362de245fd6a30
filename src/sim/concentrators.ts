import net from 'node:net';
import { Rng, seedOf, systemClock, type Clock, type Logger } from '../platform/index.ts';
import { encodeGdw1376LinkCheck, Gdw1376Afn, type Gdw1376Frame, type LinkCheck } from '../metering/protocols/index.ts';
import { FrameReader } from '../metering/frontend/index.ts';
import { answerRequest, corruptFrame } from './concentrator-answers.ts';
import { FaultIndex, type SimFaults } from './concentrator-faults.ts';
import type { SimConcentrator, SimMeter } from './concentrator-fleet.ts';

export interface ConcentratorSimulatorOptions {
  host?: string;
  port: number;
  concentrators: SimConcentrator[];
  /** The meter model's seed: same seed, same registers. */
  seed?: number;
  faults?: SimFaults;
  /** Business time for current-data (F129) answers. */
  clock?: Clock;
  heartbeatMs?: number;
  /** Reconnect this long after the front-end closed the link (0 = stay down). */
  reconnectMs?: number;
  /** Connections opened at a time, so a thousand terminals do not overflow the listen backlog. */
  connectBatch?: number;
  log?: Logger;
}

export interface ConcentratorSimulatorStats {
  concentrators: number;
  connected: number;
  loggedIn: number;
  denied: number;
  heartbeatsSent: number;
  confirmsReceived: number;
  requestsAnswered: number;
  readingsRequested: number;
  framesSent: number;
  corruptedFrames: number;
  dropped: number;
  badFrames: number;
}

export interface ConcentratorSimulator {
  /** Resolves once every concentrator that is meant to connect has had its login answered. */
  ready: Promise<void>;
  stats(): ConcentratorSimulatorStats;
  stop(): Promise<void>;
}

interface Terminal {
  def: SimConcentrator;
  byPn: Map<number, SimMeter>;
  socket: net.Socket | null;
  seq: number;
  heartbeat: NodeJS.Timeout | null;
  rng: Rng;
  loginAnswered: () => void;
  done: boolean;
}

/**
 * Simulated concentrators (集中器) over real TCP: each logs in to the front-end with AFN 02 F1,
 * sends heartbeats, and answers the master's F161/F129 requests from the meter model, with the
 * configured faults. Each terminal is driven only by its own socket events and timers.
 */
export function startConcentratorSimulator(opts: ConcentratorSimulatorOptions): ConcentratorSimulator {
  const seed = opts.seed ?? 1;
  const faults = new FaultIndex(opts.faults ?? {});
  const clock = opts.clock ?? systemClock;
  const host = opts.host ?? '127.0.0.1';
  const heartbeatMs = opts.heartbeatMs ?? 60_000;
  const stats: ConcentratorSimulatorStats = {
    concentrators: opts.concentrators.length, connected: 0, loggedIn: 0, denied: 0, heartbeatsSent: 0, confirmsReceived: 0,
    requestsAnswered: 0, readingsRequested: 0, framesSent: 0, corruptedFrames: 0, dropped: 0, badFrames: 0,
  };
  let stopped = false;
  const terminals: Terminal[] = [];

  const address = (t: Terminal) => ({ areaCode: t.def.areaCode, terminal: t.def.terminal, msa: 0, group: false });
  const sendLink = (t: Terminal, kind: LinkCheck) => {
    if (!t.socket || t.socket.destroyed) return;
    t.seq = (t.seq + 1) % 16;
    t.socket.write(encodeGdw1376LinkCheck(kind, address(t), t.seq));
    stats.framesSent++;
  };

  const onFrame = (t: Terminal, f: Gdw1376Frame) => {
    if (f.control.dir !== 'down') return;
    if (f.afn === Gdw1376Afn.confirm) {
      const denied = f.units[0]?.fn[0] === 2;
      if (denied) {
        stats.denied++;
        t.done = true;
        t.socket?.destroy();
      } else {
        stats.confirmsReceived++;
        // (the confirm of the logout stop() sends is not a login)
        if (!t.heartbeat && !stopped) {
          stats.loggedIn++;
          t.heartbeat = setInterval(() => {
            stats.heartbeatsSent++;
            sendLink(t, 'heartbeat');
          }, heartbeatMs);
        }
      }
      return t.loginAnswered();
    }
    if (!f.control.prm) return;
    const id = t.def.concentratorId;
    if (faults.dropping.has(id)) {
      stats.dropped++;
      t.done = true;
      return void t.socket?.destroy();
    }
    if (faults.mute.has(id)) return;
    stats.requestsAnswered++;
    stats.readingsRequested += f.units.reduce((a, u) => a + u.items.length, 0);
    const rate = faults.corruptRateFor(id);
    for (const frame of answerRequest(f, t.def, t.byPn, seed, faults, clock)) {
      const corrupt = rate > 0 && t.rng.chance(rate);
      if (corrupt) stats.corruptedFrames++;
      stats.framesSent++;
      if (!t.socket!.write(corrupt ? corruptFrame(frame, t.rng.next()) : frame)) t.socket!.pause();
    }
  };

  const connect = (t: Terminal): Promise<void> =>
    new Promise((resolve) => {
      let settled = false;
      t.loginAnswered = () => {
        if (!settled) (settled = true), resolve();
      };
      const socket = net.connect({ host, port: opts.port, noDelay: true });
      t.socket = socket;
      const reader = new FrameReader();
      socket.on('connect', () => {
        stats.connected++;
        sendLink(t, 'login');
      });
      socket.on('drain', () => socket.resume());
      socket.on('data', (chunk: Buffer) => {
        const { frames, errors } = reader.push(chunk);
        stats.badFrames += errors.length;
        for (const f of frames) onFrame(t, f);
      });
      socket.on('error', (e) => opts.log?.debug({ err: e, concentrator: t.def.concentratorId }, 'simulator: socket error'));
      socket.on('close', () => {
        if (t.heartbeat) clearInterval(t.heartbeat);
        t.heartbeat = null;
        t.loginAnswered();
        if (!stopped && !t.done && (opts.reconnectMs ?? 5000) > 0) {
          setTimeout(() => !stopped && void connect(t), opts.reconnectMs ?? 5000).unref();
        }
      });
    });

  for (const def of opts.concentrators) {
    if (faults.offline.has(def.concentratorId)) continue;
    terminals.push({
      def, byPn: new Map(def.meters.map((m) => [m.pn, m])), socket: null, seq: 0, heartbeat: null,
      rng: new Rng(seedOf('sim-terminal', seed, def.concentratorId)), loginAnswered: () => undefined, done: false,
    });
  }
  const ready = (async () => {
    const batch = opts.connectBatch ?? 100;
    for (let i = 0; i < terminals.length && !stopped; i += batch) {
      await Promise.all(terminals.slice(i, i + batch).map((t) => connect(t)));
    }
  })();

  return {
    ready,
    stats: () => ({ ...stats }),
    async stop() {
      stopped = true;
      await ready.catch(() => undefined);
      await Promise.all(
        terminals.map(
          (t) =>
            new Promise<void>((resolve) => {
              if (t.heartbeat) clearInterval(t.heartbeat);
              t.heartbeat = null;
              if (!t.socket || t.socket.destroyed) return resolve();
              const socket = t.socket;
              socket.once('close', () => resolve());
              // say goodbye (AFN 02 F2) like a terminal powering down, then hang up
              sendLink(t, 'logout');
              socket.end();
              setTimeout(() => socket.destroy(), 200).unref();
            }),
        ),
      );
    },
  };
}
