// The job supervisor actor: filled in by the jobs commit.
export class JobSupervisor {}
