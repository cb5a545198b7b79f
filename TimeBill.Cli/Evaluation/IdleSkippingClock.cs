using System.Diagnostics;

namespace TimeBill.Cli.Evaluation;

/// <summary>
/// A clock for <see cref="TimeBill.Core.Budget.JobStreamRunner"/> that skips the idle wait before a job's release
/// instead of sleeping through it: the wait is added to the clock at once. Nothing runs while a periodic stream
/// idles, so the stream sees the same releases, deadlines and waits as in real time, while a cell of 100 jobs costs
/// the time its jobs run rather than 100 periods.
/// </summary>
internal sealed class IdleSkippingClock : TimeProvider
{
    private long _skipped;

    public override long TimestampFrequency => Stopwatch.Frequency;

    public override long GetTimestamp() => Stopwatch.GetTimestamp() + Interlocked.Read(ref _skipped);

    /// <summary>A one-shot timer that fires now, having moved the clock by <paramref name="dueTime"/>.</summary>
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        if (period != Timeout.InfiniteTimeSpan) throw new NotSupportedException("the idle-skipping clock has one-shot timers only.");
        if (dueTime > TimeSpan.Zero) Interlocked.Add(ref _skipped, (long)(dueTime.TotalSeconds * Stopwatch.Frequency));
        return new Timer(callback, state, TimeSpan.Zero, Timeout.InfiniteTimeSpan);
    }
}
