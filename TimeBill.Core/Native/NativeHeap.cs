using System.Runtime.InteropServices;

namespace TimeBill.Core.Native;

/// <summary>
/// Keeps glibc's malloc from holding on to the memory of a prefill's freed tensors. glibc serves blocks above a
/// threshold (128 KiB) from their own mappings and returns them to the system when freed, but every such free raises
/// the threshold to the freed block's size (up to 32 MiB): after the first prefill, its MB-sized intermediates come from
/// the main heap, whose freed memory stays resident and fragments. Fixing the threshold at its default turns that off
/// for the process (what <c>MALLOC_MMAP_THRESHOLD_=131072</c> does). Nothing changes when the process set its own
/// malloc tuning (a <c>MALLOC_*</c> variable), on a C library without <c>mallopt</c>, off Linux, or when the
/// AppContext switch <c>TimeBill.KeepNativeHeapSettings</c> is on.
/// </summary>
internal static class NativeHeap
{
    private const int MmapThreshold = -3; // M_MMAP_THRESHOLD
    private const int DefaultThresholdBytes = 128 * 1024;
    private static int _configured;

    /// <summary>Whether this process's malloc threshold was fixed by <see cref="Configure"/>.</summary>
    public static bool ThresholdFixed { get; private set; }

    /// <summary>Fixes the threshold once per process (see the class); later calls do nothing.</summary>
    public static void Configure()
    {
        if (Interlocked.Exchange(ref _configured, 1) == 1) return;
        if (!OperatingSystem.IsLinux()) return;
        if (AppContext.TryGetSwitch("TimeBill.KeepNativeHeapSettings", out bool keep) && keep) return;
        foreach (var name in new[] { "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_" })
            if (Environment.GetEnvironmentVariable(name) is not null) return;
        if (!NativeLibrary.TryLoad("libc.so.6", out var libc)) return;
        if (!NativeLibrary.TryGetExport(libc, "mallopt", out var mallopt)) return;
        unsafe { ThresholdFixed = ((delegate* unmanaged<int, int, int>)mallopt)(MmapThreshold, DefaultThresholdBytes) == 1; }
    }
}
