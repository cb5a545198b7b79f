using System.CommandLine;
using System.Diagnostics;

namespace TimeBill.Cli.Commands;

/// <summary><c>timebill burn</c> (hidden): one CPU-bound loop until killed or until its parent process exits; what <c>eval --contention</c> starts.</summary>
internal static class BurnCommand
{
    public static Command Create()
    {
        var parent = new Option<int?>("--parent") { Description = "Exit when the process with this id is gone." };
        var command = new Command("burn", "Keep one core busy (the load `eval --contention` runs beside the model).") { parent };
        command.Hidden = true;
        command.SetAction(parse =>
        {
            int? parentId = parse.GetValue(parent);
            Process? watched;
            try { watched = parentId is int id ? Process.GetProcessById(id) : null; }
            catch (ArgumentException) { return 0; } // the parent is gone already
            using var _ = watched;
            long next = Stopwatch.GetTimestamp(), interval = Stopwatch.Frequency / 5;
            ulong x = 88172645463325252UL;
            while (true)
            {
                for (int i = 0; i < 1 << 16; i++) x ^= (x << 13) ^ (x >> 7) ^ (x << 17); // xorshift: pure ALU work
                if (Stopwatch.GetTimestamp() < next) continue;
                next += interval;
                if (watched is not null && watched.HasExited) return x == 0 ? 1 : 0;
            }
        });
        return command;
    }
}
