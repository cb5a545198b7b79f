namespace TimeBill.Predictors.ExecutionTime;

/// <summary>
/// Times one prefill or decode step with the estimator's clock and reports it when disposed:
/// <c>using (estimator.TimePrefill(nx)) model.Prefill(...);</c>. A default instance does nothing.
/// </summary>
internal readonly struct ObservationTimer : IDisposable
{
    private readonly Action<double>? _observe;
    private readonly TimeProvider? _clock;
    private readonly long _start;

    internal ObservationTimer(TimeProvider clock, Action<double> observe)
    {
        _clock = clock;
        _observe = observe;
        _start = clock.GetTimestamp();
    }

    /// <summary>Stops timing and feeds the elapsed milliseconds to the estimator.</summary>
    public void Dispose()
    {
        if (_clock is null || _observe is null) return;
        _observe((_clock.GetTimestamp() - _start) * 1000.0 / _clock.TimestampFrequency);
    }
}
