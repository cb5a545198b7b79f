using System.Diagnostics;
using TimeBill.Core.Planning;

namespace TimeBill.Core.Budget;

/// <summary>
/// A response-length prediction running on the thread pool beside prefill. After prefill the generator takes its
/// answer (<see cref="TryTake"/>): when the pool has not started it yet, the generator runs it itself, so queueing
/// behind other work costs nothing; when it is running, the generator waits only while the caller says waiting is
/// still affordable (under Kill: while a decode step still fits before the deadline) and otherwise goes on without
/// it. An abandoned prediction finishes in the background; the next one starts only after it, because a predictor is
/// not assumed to be thread-safe.
/// </summary>
internal sealed class ConcurrentLengthPrediction
{
    private readonly IResponseLengthPredictor _predictor;
    private readonly IReadOnlyList<int> _prompt;
    private readonly Task? _previous;
    private readonly Task<(ResponseLengthPrediction? Prediction, TimeSpan Time)> _task;
    private int _claimed;

    /// <summary>Starts predicting for <paramref name="prompt"/> once <paramref name="previous"/> (an abandoned prediction) is done.</summary>
    public ConcurrentLengthPrediction(IResponseLengthPredictor predictor, IReadOnlyList<int> prompt, Task? previous)
    {
        _predictor = predictor;
        _prompt = prompt;
        _previous = previous;
        _task = Task.Run(() =>
        {
            // Waits without throwing: the earlier prediction's outcome belonged to a request that went on without it.
            if (previous is not null) ((IAsyncResult)previous).AsyncWaitHandle.WaitOne();
            return Interlocked.Exchange(ref _claimed, 1) == 0 ? Predict() : (null, TimeSpan.Zero);
        }, CancellationToken.None);
    }

    /// <summary>The background work (completes when the predictor is done, or at once if the caller ran it).</summary>
    public Task Task => _task;

    /// <summary>
    /// The prediction and the predictor's own time; false when the caller stopped waiting (<paramref name="keepWaiting"/>
    /// returned false, polled about every millisecond) before it was ready.
    /// </summary>
    public bool TryTake(Func<bool> keepWaiting, out ResponseLengthPrediction? prediction, out TimeSpan time)
    {
        if ((_previous is null || _previous.IsCompleted) && Interlocked.Exchange(ref _claimed, 1) == 0)
        {
            (prediction, time) = Predict();
            return true;
        }
        var done = ((IAsyncResult)_task).AsyncWaitHandle;
        while (!_task.IsCompleted && keepWaiting()) done.WaitOne(1);
        if (!_task.IsCompleted)
        {
            (prediction, time) = (null, TimeSpan.Zero);
            return false;
        }
        (prediction, time) = _task.GetAwaiter().GetResult();
        return true;
    }

    private (ResponseLengthPrediction?, TimeSpan) Predict()
    {
        long start = Stopwatch.GetTimestamp();
        var prediction = _predictor.Predict(_prompt);
        return (prediction, Stopwatch.GetElapsedTime(start));
    }
}
