using TimeBill.Core.Budget;
using TimeBill.Core.Planning;

namespace TimeBill.Tests.Budget;

/// <summary>The length prediction beside prefill: taken when ready, run by the caller when the pool has not started it, abandoned when waiting is no longer affordable, never run beside an abandoned one.</summary>
public sealed class ConcurrentLengthPredictionTests
{
    private sealed class CountingPredictor : IResponseLengthPredictor
    {
        private int _running;
        public int Calls;
        public bool Overlapped;
        public string ModelIdentity => "m";
        public LengthBuckets Buckets { get; } = new(8, 512);

        public ResponseLengthPrediction Predict(IReadOnlyList<int> promptIds)
        {
            if (Interlocked.Increment(ref _running) > 1) Overlapped = true;
            Interlocked.Increment(ref Calls);
            Thread.Sleep(2);
            Interlocked.Decrement(ref _running);
            return ResponseLengthPrediction.PointMass(Buckets, 40);
        }
    }

    [Fact]
    public async Task APredictionIsTakenOnceWhoeverRunsIt()
    {
        var predictor = new CountingPredictor();
        var prediction = new ConcurrentLengthPrediction(predictor, [1, 2, 3], previous: null);
        Assert.True(prediction.TryTake(() => true, out var result, out _));
        Assert.Equal(40, result!.Length, 6);
        await prediction.Task;
        Assert.Equal(1, predictor.Calls);
    }

    [Fact]
    public async Task WaitingStopsWhenTheCallerSaysAndTheNextPredictionWaitsForTheAbandonedOne()
    {
        var predictor = new CountingPredictor();
        var earlier = new TaskCompletionSource();
        var late = new ConcurrentLengthPrediction(predictor, [1, 2, 3], earlier.Task);
        int polls = 0;
        Assert.False(late.TryTake(() => ++polls <= 3, out var none, out _));
        Assert.Null(none);
        Assert.Equal(0, predictor.Calls); // it may not run while the earlier prediction still does

        var next = new ConcurrentLengthPrediction(predictor, [4, 5], late.Task);
        earlier.SetResult();
        Assert.True(next.TryTake(() => true, out var result, out _));
        Assert.Equal(40, result!.Length, 6);
        await late.Task;
        Assert.Equal(2, predictor.Calls);
        Assert.False(predictor.Overlapped);
    }
}
