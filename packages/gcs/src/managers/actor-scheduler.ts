// The seam between the actor table and actor creation. The actor manager decides *when* an
// actor must be (re)created or killed; an ActorScheduler does it: leases a worker from a raylet
// for the actor's resources, pushes the creation task, and kills the worker on request. The
// actors work (@tray/core + raylet) provides the implementation; without one, CreateActor fails
// with UNIMPLEMENTED and the table still works for registration, names and deaths.
import type { tray } from '@tray/protocol';

export interface ActorScheduler {
  /**
   * Creates the actor somewhere and resolves with the address of its worker once the
   * constructor has run. Rejects when it cannot: an error carrying `errorInfo` (errorWithInfo)
   * becomes the actor's death cause as is (e.g. the constructor's exception).
   */
  schedule(actor: tray.v1.ActorTableData): Promise<tray.v1.IAddress>;
  /** Stops the actor's worker (`force`: at once, otherwise after its queued calls). */
  kill(actor: tray.v1.ActorTableData, force: boolean): Promise<void> | void;
  /**
   * A restarted GCS found this actor ALIVE in its storage: watch its worker again (its death
   * restarts it) and its owner, as if this GCS had created it.
   */
  adopt?(actor: tray.v1.ActorTableData): void;
  /**
   * A restarted GCS, before it adopts or schedules anything: have the raylets give up the actor
   * workers a dead GCS leased and no ALIVE actor (`alive`) holds (its unfinished creations).
   */
  releaseUnused?(alive: readonly tray.v1.ActorTableData[]): void;
}
