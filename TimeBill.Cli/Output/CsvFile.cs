using System.Globalization;
using CsvHelper;

namespace TimeBill.Cli.Output;

/// <summary>The CLI's CSV tables: one record per row, invariant culture, header from the record's properties.</summary>
internal static class CsvFile
{
    /// <summary>Writes <paramref name="rows"/> to <paramref name="path"/> and returns the path.</summary>
    public static string Write<T>(IEnumerable<T> rows, string path)
    {
        using var writer = new StreamWriter(path);
        using var csv = new CsvWriter(writer, CultureInfo.InvariantCulture);
        csv.WriteRecords(rows);
        return path;
    }
}
