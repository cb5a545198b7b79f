using System.Text.Json;
using System.Text.Json.Serialization;
using TimeBill.Core.Planning;

namespace TimeBill.Predictors.ExecutionTime;

/// <summary>
/// A measured and fitted latency model of one model on one machine, as stored in a profile file (JSON, snake_case):
/// the key it is valid for, the coefficients and their fit quality, and every measured point.
/// </summary>
/// <param name="FormatVersion">The file format's version (<see cref="CurrentFormatVersion"/>).</param>
/// <param name="Key">What the timings depend on.</param>
/// <param name="Fit">Coefficients (milliseconds) and fit quality.</param>
/// <param name="Measurements">The measured points.</param>
/// <param name="CreatedUtc">When the profile was measured.</param>
/// <param name="ProfilingSeconds">How long the profiling run took.</param>
internal sealed record ExecutionTimeProfile(int FormatVersion, ProfileKey Key, ExecutionTimeFit Fit, ExecutionTimeMeasurements Measurements,
    DateTimeOffset CreatedUtc, double ProfilingSeconds)
{
    /// <summary>The format version this library writes and reads.</summary>
    public const int CurrentFormatVersion = 1;

    /// <summary>The JSON settings of profile files: snake_case names, indented, NaN allowed (a fit without held-out points).</summary>
    public static JsonSerializerOptions JsonOptions { get; } = new(JsonSerializerDefaults.General)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    /// <summary>The file this profile was loaded from, if any.</summary>
    [JsonIgnore]
    public string? SourcePath { get; init; }

    /// <summary>The fitted coefficients.</summary>
    [JsonIgnore]
    public ExecutionTimeCoefficients Coefficients => Fit.Coefficients;

    /// <summary>Writes the profile to <paramref name="path"/>, creating its folder.</summary>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty.</exception>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null) Directory.CreateDirectory(folder);
        File.WriteAllText(path, ToJson());
    }

    /// <summary>The profile as JSON text.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Reads a profile file.</summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">The file is not a profile of this format version.</exception>
    public static ExecutionTimeProfile Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Execution-time profile file '{path}' does not exist.", path);
        return FromJson(File.ReadAllText(path), path) with { SourcePath = path };
    }

    /// <summary>Parses profile JSON; <paramref name="source"/> names it in error messages.</summary>
    /// <exception cref="InvalidDataException">The text is not a profile of this format version.</exception>
    public static ExecutionTimeProfile FromJson(string json, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        string where = source is null ? "The execution-time profile" : $"Execution-time profile file '{source}'";
        ExecutionTimeProfile? profile;
        try
        {
            profile = JsonSerializer.Deserialize<ExecutionTimeProfile>(json, JsonOptions);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{where} is not valid profile JSON: {e.Message}", e);
        }
        if (profile?.Key?.Machine is null || profile.Fit?.Coefficients?.Prefill is null || profile.Fit.Coefficients.Step is null
            || profile.Fit.Coefficients.LayeredStep is null || profile.Measurements is null)
            throw new InvalidDataException($"{where} lacks its key, coefficients or measurements.");
        if (profile.FormatVersion != CurrentFormatVersion)
            throw new InvalidDataException($"{where} has format version {profile.FormatVersion}; this library reads version {CurrentFormatVersion}. Profile again.");
        return profile;
    }

    /// <summary>
    /// Throws unless this profile was measured for <paramref name="inUse"/>'s model, dtype, threads, cpu and cores;
    /// returns the minor differences (operating system, .NET runtime) to warn about, which a recalibrating estimator absorbs.
    /// </summary>
    /// <exception cref="ProfileMismatchException">A field that invalidates the timings differs; the message lists each one.</exception>
    public IReadOnlyList<string> EnsureMatches(ProfileKey inUse)
    {
        var differences = Key.Differences(inUse);
        if (differences.Count > 0) throw new ProfileMismatchException(SourcePath, differences);
        return Key.MinorDifferences(inUse);
    }

    /// <summary>As <see cref="EnsureMatches(ProfileKey)"/>, telling <paramref name="warnings"/> of each minor difference.</summary>
    /// <exception cref="ProfileMismatchException">A field that invalidates the timings differs; the message lists each one.</exception>
    public void EnsureMatches(ProfileKey inUse, Action<string>? warnings)
    {
        foreach (string difference in EnsureMatches(inUse))
            warnings?.Invoke($"{SourcePath ?? "the profile"}: measured under another {difference}; the estimator recalibrates from real jobs.");
    }

    /// <summary>As <see cref="EnsureMatches(ProfileKey)"/> for this machine, now.</summary>
    /// <exception cref="ProfileMismatchException">A field that invalidates the timings differs; the message lists each one.</exception>
    public IReadOnlyList<string> EnsureMatches(string modelIdentity, string dataType, int threads) =>
        EnsureMatches(new ProfileKey(modelIdentity, dataType, threads, MachineDescription.Current()));

    /// <summary>An estimator over this profile's fixed coefficients.</summary>
    public ExecutionTimeEstimator CreateEstimator() => new(Coefficients);

    /// <summary>An estimator that starts from this profile's coefficients and recalibrates from observed times.</summary>
    public RecalibratingExecutionTimeEstimator CreateRecalibratingEstimator(double forgettingFactor = 0.95, TimeProvider? clock = null) =>
        new(Coefficients, forgettingFactor, clock);
}
