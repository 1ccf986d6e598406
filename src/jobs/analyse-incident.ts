// The analyse-incident job: runs the incident analysis and translates failures into queue
// decisions (GitHub 4xx → no retry, rate limit → wait as GitHub says, stopped by shutdown →
// again in a few seconds, anything else → retry with backoff). The last failed attempt
// leaves the reason on the incident.
import {
  analyseIncident,
  recordAnalysisFailure,
  recordAnalysisPutOff,
  type AnalyseIncidentDeps,
} from '../services/incidents/analyse-incident.ts';
import { toJobError } from './github-job-error.ts';
import {
  interruptedByShutdown,
  JOB_POLICY,
  RetryLaterError,
  UnrecoverableJobError,
  type Processor,
} from './types.ts';

export function createAnalyseIncidentProcessor(
  deps: AnalyseIncidentDeps,
): Processor<'analyse-incident'> {
  return async (data, ctx) => {
    const finalAttempt = ctx.attempt >= JOB_POLICY.attempts;
    try {
      const result = await analyseIncident(deps, {
        incidentId: data.incidentId,
        reason: data.reason,
        jobKey: ctx.jobId,
        finalAttempt,
        signal: ctx.signal,
      });
      if (result.outcome !== 'analysed') {
        ctx.log.info(
          { jobId: ctx.jobId, incidentId: data.incidentId, ...result },
          'incident not analysed',
        );
      }
    } catch (err) {
      const mapped = toJobError(interruptedByShutdown(err, ctx, 'analysis'));
      // Put off (rate limit, shutdown): a rate limit can hold it for up to an hour.
      const recorded =
        mapped instanceof RetryLaterError
          ? recordAnalysisPutOff(deps.db, data.incidentId)
          : recordAnalysisFailure(deps.db, {
              incidentId: data.incidentId,
              jobKey: ctx.jobId,
              reason: data.reason,
              message: (mapped as Error).message ?? String(mapped),
              final: mapped instanceof UnrecoverableJobError || finalAttempt,
            });
      await recorded.catch((recordErr: unknown) =>
        ctx.log.warn(
          { incidentId: data.incidentId, err: (recordErr as Error).message },
          'could not record how the analysis attempt ended',
        ),
      );
      throw mapped;
    }
  };
}
