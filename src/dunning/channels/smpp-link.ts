/**
 * One SMPP session with the SMSC, bound as a transceiver, a transmitter or a receiver: it binds,
 * keeps the bind alive with enquire_link, answers every request the SMSC sends (handing receipts
 * on), and honours the SMSC's unbind. The SMS channel (sms-smpp.ts) decides which links it needs
 * and when to open them again.
 */
import { deliverSmRespPdu } from './smpp-encode.ts';
import {
  connectSmpp,
  makePdu,
  sendPdu,
  SMPP_STATUS,
  UNDECODABLE,
  type SmppPdu,
  type SmppSession,
  type UndecodablePdu,
} from './smpp-wire.ts';
import type { ChannelLogger } from './types.ts';

export type BindCommand = 'bind_transceiver' | 'bind_transmitter' | 'bind_receiver';

export interface SmppLinkOptions {
  host: string;
  port: number;
  systemId: string;
  password: string;
  systemType: string;
  bind: BindCommand;
  /** Wait for the TCP connection and the bind_resp before giving the link up. */
  bindTimeoutMs: number;
  /** Keep-alive period; a missing enquire_link_resp within it drops the link. */
  enquireLinkMs: number;
  logger: ChannelLogger;
}

export interface SmppLinkClosed {
  /** The status the SMSC refused our bind with (bind_resp or generic_nack). */
  refused?: number;
  /** The link closed after our bind went out and before any answer to it (hung up, or silent). */
  bindUnanswered: boolean;
}

export interface SmppLinkEvents {
  bound(response: SmppPdu): void;
  /** The SMSC unbound us: nothing more may be sent on this link, which closes soon. */
  unbound(): void;
  /** A deliver_sm or data_sm, already answered. */
  request(pdu: SmppPdu): void;
  closed(how: SmppLinkClosed): void;
}

/** Stable code of the warning logged for a PDU that `smpp` cannot decode. */
export const SMPP_PDU_UNDECODABLE = 'SMPP_PDU_UNDECODABLE';

/** How long the SMSC gets to close the link after our unbind_resp before we close it ourselves. */
const UNBIND_CLOSE_GRACE_MS = 1_000;

/** Requests from the SMSC that have their own handler. */
const HANDLED_REQUESTS = new Set(['deliver_sm', 'data_sm', 'enquire_link', 'unbind', 'alert_notification', UNDECODABLE]);

export class SmppLink {
  readonly session: SmppSession;
  private phase: 'connecting' | 'binding' | 'bound' | 'unbound' = 'connecting';
  private refusedWith: number | undefined;
  private keepAlive: NodeJS.Timeout | undefined;

  constructor(
    private readonly o: SmppLinkOptions,
    on: SmppLinkEvents,
  ) {
    const session = connectSmpp(o.host, o.port);
    this.session = session;
    const bindTimer = setTimeout(() => session.destroy(), o.bindTimeoutMs);
    session.on('error', (err: Error) => {
      // A frame `smpp` cannot even delimit (command_length below the header): start over on a new link.
      o.logger.warn({ err: err.message, bind: o.bind }, 'SMPP link error');
      session.destroy();
    });
    session.on('close', () => {
      clearTimeout(bindTimer);
      clearInterval(this.keepAlive);
      const bindUnanswered = this.phase === 'binding';
      this.phase = 'unbound';
      on.closed(this.refusedWith === undefined ? { bindUnanswered } : { refused: this.refusedWith, bindUnanswered });
    });
    session.on('deliver_sm', (pdu: SmppPdu) => {
      sendPdu(session, deliverSmRespPdu(pdu.sequence_number));
      on.request(pdu);
    });
    session.on('data_sm', (pdu: SmppPdu) => {
      sendPdu(session, pdu.response({ message_id: '' }));
      on.request(pdu);
    });
    session.on('enquire_link', (pdu: SmppPdu) => session.send(pdu.response()));
    session.on('unbind', (pdu: SmppPdu) => {
      // No request may follow our unbind_resp on this link.
      const wasBound = this.phase === 'bound';
      this.phase = 'unbound';
      clearInterval(this.keepAlive);
      if (wasBound) on.unbound();
      session.send(pdu.response());
      // The SMSC may close the link itself or leave that to us: past a grace period we do.
      session.close();
      const grace = setTimeout(() => session.destroy(), UNBIND_CLOSE_GRACE_MS);
      session.socket.once('close', () => clearTimeout(grace));
    });
    session.on('alert_notification', () => undefined); // has no response (SMPP 3.4 §4.12)
    session.on(UNDECODABLE, (pdu: UndecodablePdu) => this.answerUndecodable(pdu));
    // Any other request gets an answer, or the SMSC would wait on it and drop the link.
    session.on('pdu', (pdu: SmppPdu) => {
      if (pdu.command === 'unknown') {
        session.send(pdu.response());
      } else if (!(Number(pdu.command_id) & 0x80000000) && !HANDLED_REQUESTS.has(pdu.command)) {
        session.send(makePdu('generic_nack', { sequence_number: pdu.sequence_number, command_status: SMPP_STATUS.ESME_RINVCMDID }));
      }
    });
    session.on('connect', () => {
      this.phase = 'binding';
      const bind = makePdu(o.bind, {
        system_id: o.systemId,
        password: o.password,
        system_type: o.systemType,
        interface_version: 0x34,
      });
      // A generic_nack (an SMSC without this bind, e.g. a transceiver at SMPP 3.3) comes here too.
      session.send(bind, (response) => {
        clearTimeout(bindTimer);
        if (this.phase !== 'binding') return;
        if (response.command_status !== 0) {
          this.refusedWith = response.command_status;
          this.phase = 'unbound';
          session.destroy();
          return;
        }
        this.phase = 'bound';
        this.startKeepAlive();
        on.bound(response);
      });
    });
  }

  get isBound(): boolean {
    return this.phase === 'bound';
  }

  /** Drops the link at once (the SMSC lost our bind, or stopped answering). */
  destroy(): void {
    this.session.destroy();
  }

  /** Unbinds when bound, then closes the link; the SMSC gets a second for each. */
  async close(): Promise<void> {
    const session = this.session;
    clearInterval(this.keepAlive);
    if (this.phase === 'bound') {
      this.phase = 'unbound';
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1_000);
        const sent = session.send(makePdu('unbind'), () => {
          clearTimeout(timer);
          resolve();
        });
        if (!sent) {
          clearTimeout(timer);
          resolve();
        }
      });
    }
    if (session.socket.destroyed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => session.destroy(), 1_000);
      session.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      session.close();
    });
  }

  private startKeepAlive(): void {
    let awaiting = false;
    this.keepAlive = setInterval(() => {
      if (awaiting) {
        this.o.logger.warn({ bind: this.o.bind }, 'SMPP enquire_link unanswered; dropping link');
        this.session.destroy();
        return;
      }
      awaiting = true;
      this.session.send(makePdu('enquire_link'), () => {
        awaiting = false;
      });
    }, this.o.enquireLinkMs);
  }

  /**
   * A PDU whose body we cannot read. A request gets an error the SMSC takes as final (ESME_RX_P_APPN:
   * the ESME will never take it), so it neither waits on it nor sends it again after a rebind; the
   * link stays up. A response goes to its request like any other (its status is in the header).
   */
  private answerUndecodable(pdu: UndecodablePdu): void {
    const request = !(pdu.command_id & 0x80000000);
    this.o.logger.warn(
      { code: SMPP_PDU_UNDECODABLE, command: pdu.commandName, sequence: pdu.sequence_number, err: pdu.reason },
      'SMSC sent a PDU we cannot decode; link kept',
    );
    if (!request || pdu.commandName === 'alert_notification') return;
    const sequence = pdu.sequence_number;
    const status = SMPP_STATUS.ESME_RX_P_APPN!;
    if (pdu.commandName === 'deliver_sm') sendPdu(this.session, deliverSmRespPdu(sequence, status));
    else if (pdu.commandName === 'data_sm') this.session.send(makePdu('data_sm_resp', { sequence_number: sequence, command_status: status }));
    else this.session.send(makePdu('generic_nack', { sequence_number: sequence, command_status: SMPP_STATUS.ESME_RSYSERR }));
  }
}
