namespace TimeBill.Predictors.ExecutionTime;

/// <summary>An execution-time profile is used with a model, data type, thread count or machine it was not measured on.</summary>
public sealed class ProfileMismatchException : InvalidOperationException
{
    /// <summary>Creates the exception with the differing fields.</summary>
    public ProfileMismatchException(string? source, IReadOnlyList<string> differences)
        : base($"The execution-time profile{(source is null ? "" : $" '{source}'")} does not match the configuration it is used with ("
               + string.Join("; ", differences) + "). Run `timebill profile` for this model, thread count and machine.")
    {
        ProfilePath = source;
        Differences = differences;
    }

    /// <summary>The profile file, when the profile was loaded from one.</summary>
    public string? ProfilePath { get; }

    /// <summary>The differing fields, one line each.</summary>
    public IReadOnlyList<string> Differences { get; }
}
