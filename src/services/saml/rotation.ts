/**
 * SP key rotation across replicas without a restart (docs/spec/saml.md §13).
 *
 * The shared state lives in `saml:sp:rotation` and changes only with `CAS_SET`/`CAS_DEL` against
 * the value read, so two operators (or two replicas) cannot interleave a prepare and a commit.
 * Every replica reads it at most 10 s old and decides from it — together with the pairs it has
 * loaded from its own files — which pair signs, which certificates the metadata publishes and which
 * keys may decrypt. A replica that lacks a pair the state names reports not ready (/readyz) rather
 * than sign with the wrong key.
 */

import type { Clock } from "../../clock.ts";
import type { Config } from "../../config/schema.ts";
import { TiktiError } from "../../errors.ts";
import type { Logger } from "../../logger.ts";
import { isoSeconds } from "../../saml/certs.ts";
import type { PublishedCertificates } from "../../saml/metadata.ts";
import type { SpKeyPair, SpKeyStore } from "../../saml/sp-keys.ts";
import type { RotationRecord, SpRotationStateRepo } from "../../store/repos/saml-sp-rotation.ts";

/** How old the state seen by a replica may be (docs/spec/saml.md §13). */
export const ROTATION_STATE_MAX_AGE_MS = 10_000;
const CAS_ATTEMPTS = 5;

export type RotationStateName = "none" | "prepared" | "committed";
export type RotationAction = "prepare" | "commit" | "abort";

export interface RotationStatus {
  state: RotationStateName;
  currentSha256?: string;
  nextSha256?: string;
  preparedAt?: string;
  commitNotBefore?: string;
  committedAt?: string | null;
  loaded: { current: string | null; next: string | null };
}

export interface SpRotation {
  /** The state as this replica sees it (read from the store at most 10 s ago); null = none. */
  view(): Promise<RotationRecord | null>;
  /** Re-reads the state now (SIGHUP). */
  refresh(): Promise<RotationRecord | null>;
  /** Fresh read plus the pairs loaded on this replica (GET /admin/saml/sp/rotation). */
  status(): Promise<RotationStatus>;
  /** prepare / commit / abort; refusals are `409 ROTATION_STATE_CONFLICT` with the spec's messages. */
  apply(action: RotationAction, force: boolean): Promise<RotationStatus>;
  /** The pair that signs outbound messages now; throws `INTERNAL` when it is not loaded here. */
  signingPair(): Promise<SpKeyPair>;
  /** Pairs to try, in order, when unwrapping an encrypted assertion's key (docs/spec/saml.md §7.9 step 3). */
  decryptionPairs(): Promise<SpKeyPair[]>;
  /** Certificates the SP metadata publishes (docs/spec/saml.md §4); throws `INTERNAL` when one is not loaded. */
  published(): Promise<PublishedCertificates>;
  /** `ok` or a short reason for /readyz (docs/spec/operations.md §5). */
  readiness(): Promise<string>;
  /** 0 none, 1 prepared, 2 committed, from the last state read (metric `sp_rotation_state`). */
  lastStateValue(): number;
}

function conflict(message: string, details?: Record<string, string>): TiktiError {
  return new TiktiError("ROTATION_STATE_CONFLICT", details ? { message, details } : { message });
}

function unavailable(what: string): TiktiError {
  return new TiktiError("INTERNAL", { cause: new Error(what) });
}

export function createSpRotation(deps: {
  config: Config;
  /** `saml:sp:rotation` (src/store/repos/saml-sp-rotation.ts). */
  state: SpRotationStateRepo;
  keys: SpKeyStore;
  clock: Clock;
  logger: Logger;
}): SpRotation {
  const { state, clock } = deps;
  const spKeys = deps.keys;
  const logger = deps.logger.child({ component: "saml-rotation" });
  let cache: { record: RotationRecord | null; readAt: number } | null = null;
  let inflight: Promise<RotationRecord | null> | null = null;
  let warnedUnreadable = false;

  /** Reads the raw value and its parsed record (an unparseable Go-era value counts as none). */
  async function readRaw(): Promise<{ raw: string | null; record: RotationRecord | null }> {
    const read = await state.read();
    const { raw } = read;
    if (raw === null) return { raw, record: null };
    if (read.record) {
      warnedUnreadable = false;
      return read;
    }
    if (!warnedUnreadable) {
      // docs/spec/storage.md §6: a Go-era (msgpack) value is overwritten by the next prepare.
      logger.warn(
        "saml:sp:rotation holds an unreadable value; treated as no rotation until the next prepare",
      );
      warnedUnreadable = true;
    }
    return { raw, record: null };
  }

  function remember(record: RotationRecord | null): RotationRecord | null {
    cache = { record, readAt: clock.now() };
    return record;
  }

  function refresh(): Promise<RotationRecord | null> {
    inflight ??= readRaw()
      .then(({ record }) => remember(record))
      .finally(() => {
        inflight = null;
      });
    return inflight;
  }

  async function view(): Promise<RotationRecord | null> {
    if (cache && clock.now() - cache.readAt < ROTATION_STATE_MAX_AGE_MS) return cache.record;
    return refresh();
  }

  const loadedPairs = (): SpKeyPair[] =>
    [spKeys.current(), spKeys.next()].filter((p): p is SpKeyPair => p !== null);
  const pairBySha = (sha: string): SpKeyPair | null => loadedPairs().find((p) => p.sha256 === sha) ?? null;

  function statusOf(record: RotationRecord | null): RotationStatus {
    const loaded = { current: spKeys.current()?.sha256 ?? null, next: spKeys.next()?.sha256 ?? null };
    return record ? { ...record, loaded } : { state: "none", loaded };
  }

  async function signingPair(): Promise<SpKeyPair> {
    const record = await view();
    if (!record) {
      const current = spKeys.current();
      if (!current) throw unavailable("current SP key pair not loaded");
      return current;
    }
    const sha = record.state === "prepared" ? record.currentSha256 : record.nextSha256;
    const pair = pairBySha(sha);
    if (!pair) throw unavailable(`SP key pair ${sha} named by the rotation state is not loaded`);
    return pair;
  }

  async function publishedSigning(): Promise<SpKeyPair[]> {
    const record = await view();
    if (!record) {
      const current = spKeys.current();
      if (!current) throw unavailable("current SP key pair not loaded");
      return [current];
    }
    const shas =
      record.state === "prepared" ? [record.currentSha256, record.nextSha256] : [record.nextSha256];
    return shas.map((sha) => {
      const pair = pairBySha(sha);
      if (!pair) throw unavailable(`SP key pair ${sha} named by the rotation state is not loaded`);
      return pair;
    });
  }

  async function published(): Promise<PublishedCertificates> {
    const signing = await publishedSigning();
    if (!spKeys.separateEncryption) return { signing, encryption: signing };
    const encryption = spKeys.encryption();
    if (!encryption) throw unavailable("SP encryption key pair not loaded");
    return { signing, encryption: [encryption] };
  }

  async function decryptionPairs(): Promise<SpKeyPair[]> {
    if (spKeys.separateEncryption) {
      const encryption = spKeys.encryption();
      return encryption ? [encryption] : [];
    }
    const record = await view();
    const current = spKeys.current();
    if (!record) return current ? [current] : [];
    const ordered =
      record.state === "prepared"
        ? [pairBySha(record.currentSha256), pairBySha(record.nextSha256)]
        : [pairBySha(record.nextSha256), current];
    const out: SpKeyPair[] = [];
    for (const p of ordered) if (p && !out.some((o) => o.sha256 === p.sha256)) out.push(p);
    return out;
  }

  async function readiness(): Promise<string> {
    const current = spKeys.current();
    if (!current) return "current SP key pair not loaded";
    if (current.notAfter <= clock.now()) return "current SP certificate expired";
    if (spKeys.separateEncryption && !spKeys.encryption()) return "SP encryption key pair not loaded";
    let record: RotationRecord | null;
    try {
      record = await view();
    } catch {
      return "rotation state unreadable";
    }
    if (!record) return "ok";
    if (record.state === "prepared" && !pairBySha(record.currentSha256)) {
      return "SP key pair named by the rotation state not loaded";
    }
    if (!pairBySha(record.nextSha256)) return "next SP key pair not loaded";
    return "ok";
  }

  /** One decision on a fresh read; returns the write to attempt, or the answer when nothing changes. */
  type Step =
    | { write: { expected: string | null; next: RotationRecord | null }; answer?: undefined }
    | { answer: RotationRecord | null; write?: undefined };

  function decide(
    action: RotationAction,
    force: boolean,
    raw: string | null,
    record: RotationRecord | null,
  ): Step {
    const now = clock.now();
    const current = spKeys.current();
    const next = spKeys.next();
    switch (action) {
      case "prepare": {
        if (!next) throw conflict("no next SP key pair is loaded");
        if (!current || next.sha256 === current.sha256) {
          if (current) throw conflict("next SP key pair equals the current one");
          throw conflict("no current SP key pair is loaded");
        }
        if (record?.state === "prepared") {
          if (record.nextSha256 === next.sha256 && record.currentSha256 === current.sha256)
            return { answer: record };
          throw conflict("rotation already prepared");
        }
        if (record?.state === "committed" && current.sha256 !== record.nextSha256) {
          throw conflict("promote the committed key before preparing again");
        }
        const prepared: RotationRecord = {
          state: "prepared",
          currentSha256: current.sha256,
          nextSha256: next.sha256,
          preparedAt: isoSeconds(now),
          commitNotBefore: isoSeconds(now + deps.config.saml.sp.rotationGraceHours * 3_600_000),
          committedAt: null,
        };
        return { write: { expected: raw, next: prepared } };
      }
      case "commit": {
        if (record?.state !== "prepared") throw conflict("no pending rotation found — run --prepare first");
        if (!force && now < Date.parse(record.commitNotBefore)) {
          throw conflict("rotation grace period has not elapsed", {
            commitNotBefore: record.commitNotBefore,
          });
        }
        if (!pairBySha(record.nextSha256)) throw conflict("next SP key pair is not loaded on this replica");
        return {
          write: { expected: raw, next: { ...record, state: "committed", committedAt: isoSeconds(now) } },
        };
      }
      case "abort": {
        if (!record) throw conflict("no pending rotation found — run --prepare first");
        if (record.state === "committed") throw conflict("committed rotations cannot be aborted");
        return { write: { expected: raw, next: null } };
      }
    }
  }

  async function apply(action: RotationAction, force: boolean): Promise<RotationStatus> {
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const { raw, record } = await readRaw();
      const step = decide(action, force, raw, record);
      if (!step.write) return statusOf(remember(step.answer));
      const { expected, next } = step.write;
      const written = await state.write(expected, next);
      if (written) {
        logger.info("SP key rotation state changed", {
          action,
          state: next?.state ?? "none",
          ...(next ? { currentSha256: next.currentSha256, nextSha256: next.nextSha256 } : {}),
        });
        return statusOf(remember(next));
      }
    }
    throw new TiktiError("CONCURRENT_UPDATE");
  }

  async function status(): Promise<RotationStatus> {
    return statusOf(await refresh());
  }

  return {
    view,
    refresh,
    status,
    apply,
    signingPair,
    decryptionPairs,
    published,
    readiness,
    lastStateValue: () => (cache?.record ? (cache.record.state === "prepared" ? 1 : 2) : 0),
  };
}
