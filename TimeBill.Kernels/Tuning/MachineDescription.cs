using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace TimeBill.Kernels.Tuning;

/// <summary>What a kernel is tuned for: CPU model, instruction sets the runtime accelerates, cores, caches, runtime.</summary>
/// <param name="CpuModel">From /proc/cpuinfo, or the architecture when unreadable.</param>
/// <param name="InstructionSets">Accelerated instruction sets (System.Runtime.Intrinsics <c>IsSupported</c>).</param>
/// <param name="Cores">Logical processors this process may use.</param>
/// <param name="Caches">Cache levels, e.g. <c>L3 Unified 32768K</c>; empty when unreadable.</param>
/// <param name="LastLevelCacheBytes">Size of the largest cache (32 MiB assumed when unreadable).</param>
/// <param name="Runtime">The .NET runtime version.</param>
public sealed record MachineDescription(
    string CpuModel,
    IReadOnlyList<string> InstructionSets,
    int Cores,
    IReadOnlyList<string> Caches,
    long LastLevelCacheBytes,
    string Runtime)
{
    /// <summary>This machine.</summary>
    public static MachineDescription Current { get; } = Detect();

    private static MachineDescription Detect()
    {
        var caches = ReadCaches();
        return new MachineDescription(
            ReadCpuModel(),
            InstructionSetsSupported(),
            Environment.ProcessorCount,
            [.. caches.Select(c => c.Text)],
            caches.Count > 0 ? caches.Max(c => c.Bytes) : 32L << 20,
            RuntimeInformation.FrameworkDescription);
    }

    private static string ReadCpuModel()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            if (line is not null) return line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }

    private static List<string> InstructionSetsSupported()
    {
        var sets = new (string Name, bool Supported)[]
        {
            ("SSE4.2", Sse42.IsSupported), ("AVX", Avx.IsSupported), ("AVX2", Avx2.IsSupported), ("FMA", Fma.IsSupported),
            ("AVX-VNNI", AvxVnni.IsSupported), ("AVX512F", Avx512F.IsSupported), ("AVX512BW", Avx512BW.IsSupported),
            ("AVX512-VBMI", Avx512Vbmi.IsSupported), ("BMI2", Bmi2.IsSupported), ("POPCNT", Popcnt.IsSupported),
            ("AdvSIMD", AdvSimd.IsSupported), ("AdvSIMD.Arm64", AdvSimd.Arm64.IsSupported), ("DotProd", Dp.IsSupported),
            ("Vector512", Vector512.IsHardwareAccelerated),
        };
        return [.. sets.Where(s => s.Supported).Select(s => s.Name)];
    }

    private static List<(string Text, long Bytes)> ReadCaches()
    {
        var caches = new List<(string, long)>();
        const string root = "/sys/devices/system/cpu/cpu0/cache";
        try
        {
            if (!Directory.Exists(root)) return caches;
            foreach (var index in Directory.EnumerateDirectories(root, "index*").Order())
            {
                string Read(string file) => File.ReadAllText(Path.Combine(index, file)).Trim();
                string size = Read("size");
                long bytes = long.Parse(size.TrimEnd('K', 'M')) << (size.EndsWith('M') ? 20 : size.EndsWith('K') ? 10 : 0);
                caches.Add(($"L{Read("level")} {Read("type")} {size}", bytes));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { }
        return caches;
    }
}
