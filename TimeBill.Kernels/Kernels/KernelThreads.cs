namespace TimeBill.Kernels;

/// <summary>
/// Splits a range of work items (matrix rows, heads) across the caller and persistent helper threads without
/// allocating: the work is a function pointer plus a pointer to the caller's stack state, and the caller waits
/// for the helpers before returning, so the state stays valid. Concurrent callers do not queue: whoever finds
/// the helpers busy runs its work alone.
/// </summary>
internal static unsafe class KernelThreads
{
    private static readonly Helper[] Helpers = CreateHelpers();
    private static readonly Lock Gate = new();

    /// <summary>Threads usable by one call: the caller plus the helpers.</summary>
    public static int MaxThreads => Helpers.Length + 1;

    /// <summary>
    /// Runs <paramref name="body"/>(state, start, end) over [0, count) split into up to <paramref name="threads"/> parts.
    /// Without <paramref name="spinAfter"/> the helpers sleep as soon as they finish instead of polling for the next
    /// product: for work between libtorch operations, whose threads need the cores.
    /// </summary>
    public static void For(int count, int threads, delegate*<void*, int, int, void> body, void* state, bool spinAfter = true)
    {
        threads = Math.Min(Math.Min(threads, MaxThreads), count);
        if (threads <= 1 || !Gate.TryEnter())
        {
            body(state, 0, count);
            return;
        }
        try
        {
            for (int t = 1; t < threads; t++)
                Helpers[t - 1].Start(body, state, (int)((long)count * t / threads), (int)((long)count * (t + 1) / threads), spinAfter);
            body(state, 0, count / threads);
            for (int t = 1; t < threads; t++)
                Helpers[t - 1].Wait();
        }
        finally
        {
            Gate.Exit();
        }
    }

    private static Helper[] CreateHelpers() =>
        Enumerable.Range(0, Math.Clamp(Environment.ProcessorCount - 1, 1, 15)).Select(i => new Helper(i)).ToArray();

    private sealed class Helper
    {
        // The helper polls for new work this long before it blocks: the gaps between the products of one decode
        // step (a norm, rotary, attention) are tens of microseconds, far shorter than a futex wake-up on a VM.
        private static readonly long SpinTicks = System.Diagnostics.Stopwatch.Frequency / 2000;
        private readonly ManualResetEventSlim _go = new(false, spinCount: 0);
        private delegate*<void*, int, int, void> _body;
        private void* _state;
        private int _start, _end;
        private volatile bool _done = true;
        private bool _spinAfter = true;

        public Helper(int index) =>
            new Thread(Loop) { IsBackground = true, Name = $"TimeBill kernel helper {index}" }.Start();

        public void Start(delegate*<void*, int, int, void> body, void* state, int start, int end, bool spinAfter)
        {
            _body = body;
            _spinAfter = spinAfter;
            _state = state;
            (_start, _end, _done) = (start, end, false);
            _go.Set();
        }

        public void Wait()
        {
            var spin = new SpinWait();
            while (!_done) spin.SpinOnce(sleep1Threshold: -1);
        }

        private void Loop()
        {
            while (true)
            {
                long until = System.Diagnostics.Stopwatch.GetTimestamp() + (_spinAfter ? SpinTicks : 0);
                while (!_go.IsSet && System.Diagnostics.Stopwatch.GetTimestamp() < until)
                    Thread.SpinWait(16);
                _go.Wait();
                _go.Reset();
                _body(_state, _start, _end);
                _done = true;
            }
        }
    }
}
