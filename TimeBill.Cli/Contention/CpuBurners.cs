using System.Diagnostics;

namespace TimeBill.Cli.Contention;

/// <summary>
/// CPU-bound child processes (<c>timebill burn</c>) run beside a measurement, as a robot's perception and control
/// processes run beside its model; stopped by pid on dispose, and each exits by itself when its parent is gone.
/// </summary>
internal sealed class CpuBurners : IDisposable
{
    private readonly List<Process> _processes;
    private readonly long _started = Stopwatch.GetTimestamp();

    private CpuBurners(List<Process> processes) => _processes = processes;

    /// <summary>The burners' process ids.</summary>
    public IReadOnlyList<int> ProcessIds => _processes.Select(p => p.Id).ToArray();

    /// <summary>Starts <paramref name="count"/> burners (none for 0).</summary>
    public static CpuBurners Start(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var processes = new List<Process>();
        try
        {
            for (int i = 0; i < count; i++) processes.Add(Process.Start(BurnerStart(Environment.ProcessId)) ?? throw new InvalidOperationException("could not start a burner process."));
        }
        catch
        {
            new CpuBurners(processes).Dispose();
            throw;
        }
        return new CpuBurners(processes);
    }

    /// <summary>CPU time each burner has used as a share of one core's time since they started (1 = a whole core).</summary>
    public IReadOnlyList<double> CoreShares()
    {
        double wall = Stopwatch.GetElapsedTime(_started).TotalSeconds;
        return _processes.Select(p =>
        {
            try { p.Refresh(); return p.TotalProcessorTime.TotalSeconds / wall; }
            catch (InvalidOperationException) { return double.NaN; } // already exited
        }).ToArray();
    }

    public void Dispose()
    {
        foreach (var process in _processes)
        {
            try
            {
                process.Kill();
                process.WaitForExit(5000);
            }
            catch (InvalidOperationException) { } // exited already
            process.Dispose();
        }
        _processes.Clear();
    }

    /// <summary><c>dotnet timebill.dll burn --parent PID</c> with the host that runs this process (or the dotnet on PATH).</summary>
    internal static ProcessStartInfo BurnerStart(int parentId)
    {
        string program = typeof(CpuBurners).Assembly.Location;
        string host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } fromSdk ? fromSdk
            : Path.GetFileNameWithoutExtension(Environment.ProcessPath) is "dotnet" ? Environment.ProcessPath!
            : "dotnet";
        var start = new ProcessStartInfo(host) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in new[] { program, "burn", "--parent", parentId.ToString(System.Globalization.CultureInfo.InvariantCulture) })
            start.ArgumentList.Add(argument);
        return start;
    }
}
