using System.Runtime.InteropServices;

namespace TimeBill.Predictors.ExecutionTime;

/// <summary>
/// A clock that advances only while this process runs on a CPU: its timestamps are the process's CPU time
/// (<c>clock_gettime(CLOCK_PROCESS_CPUTIME_ID)</c>, nanoseconds, Linux). On a shared machine whose cores are
/// oversubscribed, wall-clock timings mostly measure how long the scheduler kept the process waiting; CPU time
/// measures the work. Profile with it and one thread (with k threads it adds up the work of all k), then let a
/// <see cref="RecalibratingExecutionTimeEstimator"/> map the profile to wall-clock time under the load of the moment.
/// </summary>
internal sealed partial class ProcessCpuTimeProvider : TimeProvider
{
    private const int ClockProcessCpuTimeId = 2;

    /// <summary>The process CPU-time clock.</summary>
    /// <exception cref="PlatformNotSupportedException">Not Linux.</exception>
    public ProcessCpuTimeProvider()
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("The process CPU-time clock is implemented for Linux only.");
    }

    /// <summary>Nanoseconds per second.</summary>
    public override long TimestampFrequency => 1_000_000_000;

    /// <summary>The process's CPU time so far, in nanoseconds.</summary>
    public override long GetTimestamp()
    {
        if (ClockGetTime(ClockProcessCpuTimeId, out var ts) != 0)
            throw new InvalidOperationException($"clock_gettime(CLOCK_PROCESS_CPUTIME_ID) failed with errno {Marshal.GetLastPInvokeError()}.");
        return ts.Seconds * 1_000_000_000 + ts.Nanoseconds;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime", SetLastError = true)]
    private static partial int ClockGetTime(int clockId, out TimeSpec time);
}
