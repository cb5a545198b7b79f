namespace TimeBill.Predictors.ExecutionTime;

/// <summary>
/// Execution-time profiles kept per machine and model under the user's cache folder, so that a generator built with
/// no profile measures one once and reuses it: <c>$TIMEBILL_CACHE</c>, else <c>$XDG_CACHE_HOME/timebill</c>, else
/// <c>~/.cache/timebill</c>, or a folder given explicitly; profiles go in its <c>profiles</c> subfolder, named by
/// <see cref="ProfileKey.FileStem"/>. A folder that cannot be written is not an error: the profile is then only kept
/// in memory and <see cref="TrySave"/> says why.
/// </summary>
internal sealed class ProfileCache
{
    /// <summary>A cache in <paramref name="folder"/> (null: the default folder).</summary>
    public ProfileCache(string? folder = null) => Folder = Path.Combine(folder ?? DefaultRoot(), "profiles");

    /// <summary>Where the profiles are.</summary>
    public string Folder { get; }

    /// <summary>The user's cache root for the library.</summary>
    public static string DefaultRoot()
    {
        if (Environment.GetEnvironmentVariable("TIMEBILL_CACHE") is { Length: > 0 } explicitRoot) return explicitRoot;
        if (Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg) return Path.Combine(xdg, "timebill");
        return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "timebill");
    }

    /// <summary>The file a profile of <paramref name="key"/> is kept in.</summary>
    public string PathFor(ProfileKey key) => Path.Combine(Folder, key.FileStem + ".json");

    /// <summary>
    /// The cached profile of <paramref name="key"/>'s model, dtype, threads, cpu and cores, or null when there is none
    /// (or the file is unreadable). <paramref name="warnings"/> gets the minor differences (an OS patch, another runtime).
    /// </summary>
    public ExecutionTimeProfile? TryLoad(ProfileKey key, Action<string>? warnings = null)
    {
        ArgumentNullException.ThrowIfNull(key);
        string path = PathFor(key);
        if (!File.Exists(path)) return null;
        try
        {
            var profile = ExecutionTimeProfile.Load(path);
            profile.EnsureMatches(key, warnings);
            return profile;
        }
        catch (Exception e) when (e is InvalidDataException or ProfileMismatchException or IOException or UnauthorizedAccessException)
        {
            warnings?.Invoke($"{path}: not usable ({e.Message}); profiling again.");
            return null;
        }
    }

    /// <summary>Keeps <paramref name="profile"/>; false (with the reason in <paramref name="warnings"/>) when the folder cannot be written.</summary>
    public bool TrySave(ExecutionTimeProfile profile, Action<string>? warnings = null)
    {
        ArgumentNullException.ThrowIfNull(profile);
        string path = PathFor(profile.Key);
        try
        {
            Directory.CreateDirectory(Folder);
            string temporary = $"{path}.{Environment.ProcessId}.tmp";
            profile.Save(temporary);
            File.Move(temporary, path, overwrite: true);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            warnings?.Invoke($"cannot keep the profile in {Folder} ({e.Message}); it is used for this process only.");
            return false;
        }
    }
}
