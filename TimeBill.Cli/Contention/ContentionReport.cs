namespace TimeBill.Cli.Contention;

/// <summary>The load an evaluation ran beside: how many burners, their pids, and the share of a core each used.</summary>
internal sealed record ContentionReport(int Processes, IReadOnlyList<int> ProcessIds, IReadOnlyList<double> CoreShares)
{
    public static ContentionReport Of(CpuBurners burners) => new(burners.ProcessIds.Count, burners.ProcessIds, burners.CoreShares());
}
