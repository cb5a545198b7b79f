using TimeBill.Core.Budget;

namespace TimeBill.Tests.Budget;

/// <summary>Skip-Next and Kill over a job stream, with a fake generator whose jobs take scripted times.</summary>
public sealed class JobStreamRunnerTests
{
    /// <summary>A generator that "works" for a scripted duration by advancing a manual clock.</summary>
    private sealed class ScriptedGenerator(ManualTime time, Queue<TimeSpan> durations) : IBudgetedGenerator
    {
        public Task<BudgetedResult> GenerateAsync(BudgetedRequest request, CancellationToken cancellationToken = default)
        {
            var work = durations.Dequeue();
            bool kill = request.Overrun == OverrunStrategy.Kill;
            var spent = kill && work > request.Budget ? request.Budget : work;
            time.Advance(spent);
            var status = work <= request.Budget ? BudgetStatus.Completed : BudgetStatus.DeadlineExceeded;
            return Task.FromResult(new BudgetedResult { Status = status, Budget = request.Budget, TotalTime = spent });
        }

        public IAsyncEnumerable<BudgetedStreamItem> StreamAsync(BudgetedRequest request, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();
    }

    /// <summary>A clock moved by hand; delays complete at once by advancing it.</summary>
    private sealed class ManualTime : TimeProvider
    {
        private long _now;
        public override long TimestampFrequency => TimeSpan.TicksPerSecond;
        public override long GetTimestamp() => _now;
        public void Advance(TimeSpan span) => _now += span.Ticks;
        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            Advance(dueTime);
            callback(state);
            return new NoTimer();
        }

        private sealed class NoTimer : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;
            public void Dispose() { }
            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }

    private static IEnumerable<StreamJob> Stream(int count, OverrunStrategy overrun) => StreamJob.Periodic(
        Enumerable.Range(0, count).Select(_ => new BudgetedRequest { Prompt = "x", Budget = TimeSpan.FromSeconds(1), Overrun = overrun }),
        TimeSpan.FromMilliseconds(100));

    [Fact]
    public async Task SkipNextFinishesTheLateJobAndSkipsTheJobsReleasedMeanwhile()
    {
        var time = new ManualTime();
        var durations = new Queue<TimeSpan>(new[] { 80, 250, 50, 50, 50 }.Select(ms => TimeSpan.FromMilliseconds(ms)));
        var runner = new JobStreamRunner(new ScriptedGenerator(time, durations), time);

        var results = await runner.RunAsync(Stream(6, OverrunStrategy.SkipNext));

        // Job 1 runs 100..350 ms: jobs released at 200 and 300 ms are skipped; job 4 (400 ms) runs.
        Assert.Equal(
            [BudgetStatus.Completed, BudgetStatus.DeadlineExceeded, BudgetStatus.Skipped, BudgetStatus.Skipped, BudgetStatus.Completed, BudgetStatus.Completed],
            results.Select(r => r.Status));
    }

    [Fact]
    public async Task KillNeverLetsAJobDelayTheNext()
    {
        var time = new ManualTime();
        var durations = new Queue<TimeSpan>(new[] { 80, 250, 50, 50 }.Select(ms => TimeSpan.FromMilliseconds(ms)));
        var runner = new JobStreamRunner(new ScriptedGenerator(time, durations), time);

        var results = await runner.RunAsync(Stream(4, OverrunStrategy.Kill));

        Assert.Equal([BudgetStatus.Completed, BudgetStatus.DeadlineExceeded, BudgetStatus.Completed, BudgetStatus.Completed], results.Select(r => r.Status));
        Assert.All(results, r => Assert.True(r.TotalTime <= r.Budget));
    }
}
