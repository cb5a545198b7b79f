namespace TimeBill.Cli.Evaluation;

/// <summary>What eval-structured runs: the schema, the jobs per cell, the budgets as multiples of the reference latency.</summary>
internal sealed record StructuredSettings
{
    /// <summary>The schema's name in the report (its file name).</summary>
    public required string SchemaName { get; init; }
    /// <summary>The JSON Schema every answer must satisfy.</summary>
    public required string SchemaJson { get; init; }
    /// <summary>Jobs per budget and closing setting.</summary>
    public int Jobs { get; init; } = 200;
    /// <summary>Budgets as multiples of the reference pass's median latency.</summary>
    public required IReadOnlyList<double> Multiples { get; init; }
    /// <summary>Cap on generated tokens (the cap alone also closes an answer in time).</summary>
    public int MaxNewTokens { get; init; } = 48;
    /// <summary>Jobs in the reference pass (no deadline) whose median latency sets the budgets.</summary>
    public int ReferenceJobs { get; init; } = 50;
    /// <summary>Seed of the sampling and the bootstrap.</summary>
    public int Seed { get; init; } = 7005;
}
