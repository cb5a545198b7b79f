using SharpFuzz;
using TimeBill.Fuzz;

// TimeBill.Fuzz PARSER          run PARSER's target under AFL++ (afl-fuzz starts it; see tools/fuzz.sh)
// TimeBill.Fuzz PARSER FILE...  run the target once per file and print how each ended (what a crash was)
if (args.Length == 0 || !FuzzTargets.Names.Contains(args[0]))
{
    Console.Error.WriteLine($"usage: TimeBill.Fuzz PARSER [FILE...]; parsers: {string.Join(", ", FuzzTargets.Names)}");
    return 2;
}
string parser = args[0];
if (args.Length > 1)
{
    int undocumented = 0;
    foreach (string file in args.Skip(1))
    {
        try
        {
            FuzzTargets.Run(parser, File.ReadAllBytes(file));
            Console.WriteLine($"{file}: valid");
        }
        catch (Exception e) when (FuzzTargets.IsDocumented(parser, e))
        {
            Console.WriteLine($"{file}: {e.GetType().Name}: {e.Message}");
        }
        catch (Exception e)
        {
            undocumented++;
            Console.WriteLine($"{file}: UNDOCUMENTED {e}");
        }
    }
    return undocumented == 0 ? 0 : 1;
}

// An undocumented exception escapes and AFL++ records the input as a crash.
Fuzzer.OutOfProcess.Run(stream =>
{
    using var buffer = new MemoryStream();
    stream.CopyTo(buffer);
    try { FuzzTargets.Run(parser, buffer.GetBuffer().AsSpan(0, (int)buffer.Length)); }
    catch (Exception e) when (FuzzTargets.IsDocumented(parser, e)) { }
});
return 0;
