using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace FineR1.Training.Distributed;

/// <summary>
/// The start-up handshake of a data-parallel job: rank 0 listens on MASTER_ADDR:MASTER_PORT, every other rank connects
/// and says who it is, and once all <c>WORLD_SIZE − 1</c> ranks have joined rank 0 sends each of them the same payload
/// (NCCL's 128-byte unique id). Ranks that do not join within the timeout are named in the error; a connection that
/// does not speak the protocol, claims a rank out of range, a rank already taken or another world size is refused.
/// </summary>
/// <remarks>Wire format (big-endian): client → root: magic "FR1R", int32 rank, int32 world size; root → client: int32
/// length (≤ 64 KiB), then the payload.</remarks>
public static class TcpRendezvous
{
    private const uint Magic = 0x46523152; // "FR1R"
    private const int MaxPayload = 64 << 10;

    /// <summary>
    /// Rank 0: computes the payload with <paramref name="createPayloadOnRoot"/>, waits for every rank and sends it to them.
    /// Other ranks: connect (retrying until rank 0 listens) and receive it. Returns the payload on every rank.
    /// </summary>
    /// <exception cref="DistributedException">Ranks missing after <paramref name="timeout"/> (named), rank 0 unreachable,
    /// or a protocol violation.</exception>
    public static byte[] Exchange(DistributedEnvironment environment, Func<byte[]> createPayloadOnRoot, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(createPayloadOnRoot);
        if (environment.WorldSize == 1) return createPayloadOnRoot();
        return environment.Rank == 0 ? Serve(environment, createPayloadOnRoot(), timeout) : Join(environment, timeout);
    }

    private static IPAddress Resolve(string address) =>
        IPAddress.TryParse(address, out var ip) ? ip
            : Dns.GetHostAddresses(address).FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork)
              ?? throw new DistributedException($"MASTER_ADDR '{address}' does not resolve to an IPv4 address.");

    private static byte[] Serve(DistributedEnvironment env, byte[] payload, TimeSpan timeout)
    {
        if (payload.Length > MaxPayload) throw new ArgumentException($"the payload has {payload.Length} bytes; at most {MaxPayload}.");
        var listener = new TcpListener(Resolve(env.MasterAddress), env.MasterPort);
        listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        try { listener.Start(); }
        catch (SocketException e)
        {
            throw new DistributedException($"rank 0 cannot listen on {env.MasterAddress}:{env.MasterPort}: {e.Message} (is another job using MASTER_PORT?)", e);
        }
        var joined = new Dictionary<int, TcpClient>();
        try
        {
            var clock = Stopwatch.StartNew();
            while (joined.Count < env.WorldSize - 1)
            {
                var left = timeout - clock.Elapsed;
                var accept = listener.AcceptTcpClientAsync();
                if (left <= TimeSpan.Zero || !accept.Wait(left))
                {
                    var missing = Enumerable.Range(1, env.WorldSize - 1).Where(r => !joined.ContainsKey(r)).ToArray();
                    throw new DistributedException(
                        $"rendezvous at {env.MasterAddress}:{env.MasterPort}: rank{(missing.Length > 1 ? "s" : "")} {string.Join(", ", missing)} did not join within {timeout.TotalSeconds:0.#} s.")
                        { Ranks = missing };
                }
                var client = accept.Result;
                if (TryHello(client, env.WorldSize, joined, Remaining(timeout, clock)) is { } rank) joined[rank] = client;
                else client.Dispose();
            }
            var length = new byte[4];
            BinaryPrimitives.WriteInt32BigEndian(length, payload.Length);
            foreach (var client in joined.Values)
            {
                var stream = client.GetStream();
                stream.Write(length);
                stream.Write(payload);
                stream.Flush();
            }
            return payload;
        }
        finally
        {
            foreach (var c in joined.Values) c.Dispose();
            listener.Stop();
        }
    }

    private static TimeSpan Remaining(TimeSpan timeout, Stopwatch clock) =>
        timeout - clock.Elapsed > TimeSpan.FromMilliseconds(100) ? timeout - clock.Elapsed : TimeSpan.FromMilliseconds(100);

    /// <summary>Reads a client's hello; null (connection dropped) when it is not a valid, new rank of this world.</summary>
    private static int? TryHello(TcpClient client, int worldSize, Dictionary<int, TcpClient> joined, TimeSpan timeout)
    {
        try
        {
            client.ReceiveTimeout = (int)Math.Min(int.MaxValue, timeout.TotalMilliseconds);
            var hello = new byte[12];
            client.GetStream().ReadExactly(hello);
            uint magic = BinaryPrimitives.ReadUInt32BigEndian(hello);
            int rank = BinaryPrimitives.ReadInt32BigEndian(hello.AsSpan(4));
            int world = BinaryPrimitives.ReadInt32BigEndian(hello.AsSpan(8));
            if (magic != Magic || world != worldSize || rank < 1 || rank >= worldSize || joined.ContainsKey(rank)) return null;
            return rank;
        }
        catch (Exception e) when (e is IOException or SocketException or EndOfStreamException)
        {
            return null;
        }
    }

    private static byte[] Join(DistributedEnvironment env, TimeSpan timeout)
    {
        var address = Resolve(env.MasterAddress);
        var clock = Stopwatch.StartNew();
        Exception? last = null;
        while (clock.Elapsed < timeout)
        {
            using var client = new TcpClient();
            try
            {
                var connect = client.ConnectAsync(address, env.MasterPort);
                if (!connect.Wait(Remaining(timeout, clock))) break;
                var stream = client.GetStream();
                var hello = new byte[12];
                BinaryPrimitives.WriteUInt32BigEndian(hello, Magic);
                BinaryPrimitives.WriteInt32BigEndian(hello.AsSpan(4), env.Rank);
                BinaryPrimitives.WriteInt32BigEndian(hello.AsSpan(8), env.WorldSize);
                stream.Write(hello);
                client.ReceiveTimeout = (int)Math.Min(int.MaxValue, Remaining(timeout, clock).TotalMilliseconds);
                var header = new byte[4];
                stream.ReadExactly(header);
                int length = BinaryPrimitives.ReadInt32BigEndian(header);
                if (length < 0 || length > MaxPayload)
                    throw new DistributedException($"rank {env.Rank}: rank 0 at {env.MasterAddress}:{env.MasterPort} announced a {length}-byte payload (at most {MaxPayload}).");
                var payload = new byte[length];
                stream.ReadExactly(payload);
                return payload;
            }
            catch (Exception e) when (e is AggregateException or SocketException or IOException or EndOfStreamException)
            {
                last = e;
                Thread.Sleep(100);   // rank 0 not listening yet, or it refused this hello
            }
        }
        throw new DistributedException(
            $"rank {env.Rank}: no rendezvous with rank 0 at {env.MasterAddress}:{env.MasterPort} within {timeout.TotalSeconds:0.#} s" +
            (last is null ? "." : $" (last error: {last.GetBaseException().Message})."), last) { Ranks = [0] };
    }
}
