using TimeBill.Core.Model;

namespace TimeBill.Benchmarks.Model;

/// <summary>The models benchmarks run on: the real stories260K and the SmolLM2-135M shape with random weights.</summary>
public static class ModelBenchmarkSubjects
{
    /// <summary>Names accepted by <see cref="Open"/>.</summary>
    public static IEnumerable<string> Names => ["stories260K", "smollm2-135m"];

    /// <summary>Sets libtorch to the benchmarks' 2 threads, its native library loaded first (on any libstdc++).</summary>
    public static void UseTwoTorchThreads()
    {
        TimeBill.Core.Native.TorchSharpNativeLoader.EnsureLoaded();
        TorchSharp.torch.set_num_threads(2);
    }

    /// <summary>Loads or builds the named model (float32).</summary>
    public static CausalLanguageModel Open(string name)
    {
        string shared = FindShared();
        return name == "stories260K"
            ? CausalLanguageModel.Load(Path.Combine(shared, "models", "stories260K"))
            : CausalLanguageModel.CreateRandom(ModelConfig.Load(Path.Combine(shared, "model-shapes", name + ".json")), seed: 0);
    }

    /// <summary>../shared beside the repository.</summary>
    internal static string FindShared()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "TimeBill.sln")))
                    return Path.Combine(dir.Parent!.FullName, "shared");
        throw new DirectoryNotFoundException("run the benchmarks from inside the repository (../shared must be beside it).");
    }
}
