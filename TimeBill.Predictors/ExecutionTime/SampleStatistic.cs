namespace TimeBill.Predictors.ExecutionTime;

/// <summary>How the repetitions of one grid point are reduced to the time that is fitted.</summary>
internal enum SampleStatistic
{
    /// <summary>The median: robust to occasional stalls, and the time a request typically sees (default).</summary>
    Median,

    /// <summary>
    /// The fastest repetition: the machine's intrinsic cost, least disturbed on a shared, oversubscribed machine where
    /// every repetition is slowed by others (the recalibrating estimator then follows the load of the moment).
    /// </summary>
    Minimum,
}
