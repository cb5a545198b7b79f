using TimeBill.Predictors.ExecutionTime;

namespace TimeBill.Cli.Output;

/// <summary>
/// Progress of the one-time quick profile on stderr: a counter rewritten in place on a terminal, a single line otherwise
/// (a log does not need every step).
/// </summary>
internal static class ProfilingNotice
{
    public static IProgress<ProfilingProgress> ToStandardError()
    {
        bool terminal = !Console.IsErrorRedirected;
        bool started = false;
        return new Progress<ProfilingProgress>(p =>
        {
            if (terminal) Console.Error.Write($"\rprofiling this machine once: {p.Completed}/{p.Total}   {(p.Completed >= p.Total ? "\n" : "")}");
            else if (!started) Console.Error.WriteLine("profiling this machine once (cached for later runs) ...");
            started = true;
        });
    }
}
