using System.Runtime.InteropServices;

namespace TimeBill.Predictors.ExecutionTime;

/// <summary>The machine a profile was measured on: what its timings depend on outside the model.</summary>
/// <param name="CpuModel">The CPU's model name (from <c>/proc/cpuinfo</c> on Linux), or the architecture when unknown.</param>
/// <param name="LogicalCores">Logical cores available to the process.</param>
/// <param name="OperatingSystem">The operating system's description.</param>
/// <param name="DotNetVersion">The .NET runtime's description.</param>
internal sealed record MachineDescription(string CpuModel, int LogicalCores, string OperatingSystem, string DotNetVersion)
{
    /// <summary>This machine, now.</summary>
    public static MachineDescription Current() =>
        new(ReadCpuModel(), Environment.ProcessorCount, RuntimeInformation.OSDescription, RuntimeInformation.FrameworkDescription);

    private static string ReadCpuModel()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
                foreach (string line in File.ReadLines("/proc/cpuinfo"))
                {
                    int colon = line.IndexOf(':');
                    if (colon > 0 && line[..colon].Trim() is "model name" or "Model" or "cpu model")
                        return line[(colon + 1)..].Trim();
                }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }
}
