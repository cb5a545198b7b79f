using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace TimeBill.Core.Native;

/// <summary>
/// Makes TorchSharp's native library load on Linux distributions whose libstdc++ is older than the one it
/// was built against. TorchSharp-cpu 0.107.0's <c>libLibTorchSharp.so</c> asks for <c>GLIBCXX_3.4.32</c>
/// (GCC 13) because of a single symbol, <c>std::ios_base_library_init()</c>, that no relocation uses; a
/// Debian 12 libstdc++ stops at 3.4.30 and the load fails. On such a system this class copies the library
/// to a private cache folder, marks that one requirement weak, and hands TorchSharp the patched copy through
/// the native-library resolver. System files are never touched, no root is needed, and on systems whose
/// libstdc++ already satisfies the requirement nothing is changed at all.
/// Before libtorch loads it also sets <c>GOMP_SPINCOUNT</c> to 3,000 unless the environment sets it or
/// <c>OMP_WAIT_POLICY</c>: libtorch's OpenMP workers otherwise poll for milliseconds after every operation and take the
/// cores from the kernels that run between libtorch's operations (a prefill over quantized weights), while a shorter
/// poll still bridges the gaps between consecutive operations.
/// </summary>
internal static partial class TorchSharpNativeLoader
{
    /// <summary>Version requirements known to be referenced only by unused symbols, safe to mark weak.</summary>
    private static readonly HashSet<string> WeakenableVersions = ["GLIBCXX_3.4.32"];

    private const string LibraryFile = "libLibTorchSharp.so";
    private static readonly Lock Gate = new();
    private static volatile bool _initialized;
    private static string? _patchedPath;

    /// <summary>Where the patched copy was loaded from, or <c>null</c> when the original loaded as shipped.</summary>
    public static string? PatchedLibraryPath => _patchedPath;

    /// <summary>
    /// Ensures TorchSharp's native library can be loaded in this process. Idempotent and thread-safe; call it
    /// before the first use of <c>TorchSharp.torch</c>. Every TimeBill entry point that touches TorchSharp
    /// calls it already.
    /// </summary>
    /// <exception cref="DllNotFoundException">The native library cannot be found or loaded, with the loader's reason.</exception>
    public static void EnsureLoaded()
    {
        if (_initialized) return;
        lock (Gate)
        {
            if (_initialized) return;
            if (OperatingSystem.IsLinux())
            {
                ShortenOpenMpPolling();
                PrepareLinux();
            }
            _initialized = true;
        }
    }

    private static void ShortenOpenMpPolling()
    {
        const string name = "GOMP_SPINCOUNT";
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(name)) || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OMP_WAIT_POLICY"))) return;
        // .NET keeps its own copy of the environment on Unix; GNU OpenMP (libtorch's on Linux) reads the C library's.
        SetEnvironment(name, "3000", 0);
    }

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnvironment(string name, string value, int overwrite);

    private static void PrepareLinux()
    {
        string? original = FindLibrary();
        if (original is null) return; // Let TorchSharp's own probing report what is missing.

        string? error = TryLoad(original);
        if (error is null) return; // Loads as shipped: newer system, nothing to do.

        var missing = MissingVersions(error);
        if (missing.Count == 0 || !missing.IsSubsetOf(WeakenableVersions))
            throw new DllNotFoundException($"TorchSharp's native library {original} does not load: {error}");

        string directory = Path.GetDirectoryName(original)!;
        // The patched copy lives elsewhere, so its $ORIGIN run path no longer finds libtorch: load the
        // dependencies from the original folder first; the loader then matches them by soname.
        foreach (var dependency in new[] { "libc10.so", "libtorch_cpu.so", "libtorch.so" })
        {
            string path = Path.Combine(directory, dependency);
            if (File.Exists(path)) NativeLibrary.Load(path);
        }

        string patched = WritePatchedCopy(original, missing);
        IntPtr handle;
        try { handle = NativeLibrary.Load(patched); }
        catch (DllNotFoundException e)
        {
            throw new DllNotFoundException($"The patched copy {patched} of {original} does not load either: {e.Message}", e);
        }

        NativeLibrary.SetDllImportResolver(typeof(TorchSharp.torch).Assembly, (name, _, _) =>
            name is "LibTorchSharp" or LibraryFile ? handle : IntPtr.Zero);
        _patchedPath = patched;
    }

    private static string? TryLoad(string path)
    {
        try
        {
            NativeLibrary.Free(NativeLibrary.Load(path));
            return null;
        }
        catch (DllNotFoundException e) { return e.Message; }
        catch (BadImageFormatException e) { return e.Message; }
    }

    private static HashSet<string> MissingVersions(string loaderError) =>
        MissingVersionPattern().Matches(loaderError).Select(m => m.Groups[1].Value).ToHashSet();

    [GeneratedRegex(@"version `([^']+)' not found")]
    private static partial Regex MissingVersionPattern();

    private static string? FindLibrary()
    {
        var folders = new List<string>();
        if (AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") is string searchDirectories)
            folders.AddRange(searchDirectories.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries));
        string baseDirectory = AppContext.BaseDirectory;
        string torchDirectory = Path.GetDirectoryName(typeof(TorchSharp.torch).Assembly.Location) ?? baseDirectory;
        foreach (var root in new[] { baseDirectory, torchDirectory })
        {
            folders.Add(root);
            folders.Add(Path.Combine(root, "runtimes", RuntimeInformation.RuntimeIdentifier, "native"));
            folders.Add(Path.Combine(root, "runtimes", "linux-x64", "native"));
        }
        return folders.Select(f => Path.Combine(f, LibraryFile)).FirstOrDefault(File.Exists);
    }

    /// <summary>
    /// Writes the patched copy into a per-user cache folder named by the original's content hash. Concurrent
    /// first use (threads or processes) is safe: each writer fills its own temporary file and renames it into
    /// place atomically; all writers produce identical bytes.
    /// </summary>
    private static string WritePatchedCopy(string original, IReadOnlySet<string> versions)
    {
        byte[] bytes = File.ReadAllBytes(original);
        string hash = Convert.ToHexStringLower(SHA256.HashData(bytes))[..16];
        string folder = Path.Combine(CacheRoot(), "native", hash);
        string target = Path.Combine(folder, LibraryFile);
        if (File.Exists(target)) return target;

        int marked = ElfVersionNeedPatcher.MarkWeak(bytes, versions, original);
        if (marked != versions.Count)
            throw new DllNotFoundException($"{original}: expected to weaken {string.Join(", ", versions)} but found {marked} of them.");

        Directory.CreateDirectory(folder);
        string temporary = Path.Combine(folder, $"{LibraryFile}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        File.WriteAllBytes(temporary, bytes);
        File.Move(temporary, target, overwrite: true);
        return target;
    }

    private static string CacheRoot()
    {
        string? configured = Environment.GetEnvironmentVariable("TIMEBILL_CACHE");
        if (!string.IsNullOrEmpty(configured)) return configured;
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        string root = !string.IsNullOrEmpty(xdg) ? xdg : Path.Combine(home, ".cache");
        try
        {
            string path = Path.Combine(root, "timebill");
            Directory.CreateDirectory(path);
            return path;
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            return Path.Combine(Path.GetTempPath(), $"timebill-{Environment.UserName}");
        }
    }
}
