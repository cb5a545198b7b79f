namespace TimeBill.Core.Budget;

/// <summary>What happens when a job cannot finish by its deadline.</summary>
public enum OverrunStrategy
{
    /// <summary>Stop at the last decode step that fits the deadline; the job is incomplete.</summary>
    Kill,

    /// <summary>Finish this job even past the deadline; the stream skips the jobs released while it overran.</summary>
    SkipNext,
}
