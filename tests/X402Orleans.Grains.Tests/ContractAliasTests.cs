using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Serialization.Invocation;
using X402Orleans.Abstractions;
using X402Orleans.Grains.Storage;

namespace X402Orleans.Grains.Tests;

/// <summary>
/// Issue 11: every grain contract carries an <see cref="AliasAttribute"/>, so the wire names no longer follow the C# names, and
/// what the previous (unaliased) version wrote is still read. The aliases keep the identities Orleans derived before they
/// existed (full type names, and for methods the hashed method id), so a rolling upgrade from the unaliased version works in
/// both directions; from now on renaming or moving a C# type or method no longer changes what goes over the wire.
/// </summary>
public sealed class ContractAliasTests
{
    private static readonly Assembly[] ContractAssemblies = [typeof(ISessionGrain).Assembly, typeof(SessionState).Assembly];

    private static readonly DateTimeOffset T0 = new(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private static readonly Guid SessionId = Guid.Parse("11111111-2222-3333-4444-555555555555");

    private static readonly Guid CallId = Guid.Parse("aaaaaaaa-2222-3333-4444-555555555555");

    private static readonly Guid ReservationId = Guid.Parse("99999999-2222-3333-4444-555555555555");

    // Written by the Orleans serializer at commit b011a2f (before any [Alias]); see the class summary. Hex of the bytes.
    private const string CallTicketV0 = "20E8000309030141056F6B413F68747470733A2F2F6170692E6578616D706C652E636F6D2F76312F64617461090305C10B4109302E30310101413568747470733A2F2F6170692E6578616D706C652E636F6D2F7631410D707265666978011DE0";

    private const string CallTicketAsObjectV0 = "30014B52770E79583430324F726C65616E732E4162737472616374696F6E732E43616C6C5469636B65742C583430324F726C65616E732E4162737472616374696F6E73E8000309030141056F6B413F68747470733A2F2F6170692E6578616D706C652E636F6D2F76312F64617461090305C10B4109302E30310101413568747470733A2F2F6170692E6578616D706C652E636F6D2F7631410D707265666978011DE0";

    private const string SessionSnapshotV0 = "20E8402111111111222233334444555555555555410F6167656E742D31413568747470733A2F2F6170692E6578616D706C652E636F6D2F7631410D707265666978410B6C6162656C09030521808040F01DDA2ADD08810000000000000000E0218080C054166D42DD08810000000000000000E0C101010D218080A8B47FE22ADD08810000000000000000E00903093101ACBA636FC1526561644F6E6C794C697374496E74657266616365436F64656360315B5B583430324F726C65616E732E4162737472616374696F6E732E5061796D656E74526563656970742C583430324F726C65616E732E4162737472616374696F6E735D5D000321E840196569703135353A383435333241553078303336436244353338343263353432363633346537393239353431654332333138663364434637654109555344430119410B313030303041553078323039363933426336616663304335333238624133364661463033433531344546333132323837434155307838353762303635313945393165334135343533383739316244626230453232333733653336623636418530786161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616121808040F01DDA2ADD08810000000000000000E00103E0E04109302E3031413F68747470733A2F2F6170692E6578616D706C652E636F6D2F76312F646174613101402D24A1B9526561644F6E6C794C697374496E74657266616365436F64656360315B5B583430324F726C65616E732E4162737472616374696F6E732E4173736574546F74616C2C583430324F726C65616E732E4162737472616374696F6E735D5D000321E8C02F410F30786173736574C1330119C1370105E0E0E0";

    private const string OpenSessionCommandV0 = "20E8400F6167656E742D31413568747470733A2F2F6170692E6578616D706C652E636F6D2F7631410D707265666978410B6C6162656C81008064F8921700004109302E303101034109312E3030410D6964656D2D31E0";

    private const string PaymentQuoteV0 = "20E840196569703135353A383435333241553078303336436244353338343263353432363633346537393239353431654332333138663364434637654109555344430119410B31303030304155307832303936393342633661666330433533323862413336466146303343353134454633313232383743413F68747470733A2F2F6170692E6578616D706C652E636F6D2F76312F646174614101C101C101E0";

    private const string SessionStateBinaryV0 = "200005410F6167656E742D31413568747470733A2F2F6170692E6578616D706C652E636F6D2F7631410D707265666978410B6C6162656C09030521808040F01DDA2ADD08810000000000000000E0218080C054166D42DD08810000000000000000E0C101010DC1010903094109302E30310101C10121000321E840196569703135353A383435333241553078303336436244353338343263353432363633346537393239353431654332333138663364434637654109555344430119410B313030303041553078323039363933426336616663304335333238624133364661463033433531344546333132323837434155307838353762303635313945393165334135343533383739316244626230453232333733653336623636418530786161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616121808040F01DDA2ADD08810000000000000000E00103E0E02100032140219999999922223333444455555555555521E8C031C133C1350119C139C13B413F68747470733A2F2F6170692E6578616D706C652E636F6D2F76312F646174614101C101C101E021808040F01DDA2ADD08810000000000000000E04127307877616C6C65742F323032352D30312D3032E0E0C101C1012100034121AAAAAAAA222233334444555555555555E00111410D6964656D2D312713E0E0";

    // A grain call's result as sent back over the wire: the response object, with its generic argument's type name.
    private const string BeginCallResponseV0 = "30018959FD7A06024F726C65616E732E53657269616C697A6174696F6E2E496E766F636174696F6E2E526573706F6E736560315B5B583430324F726C65616E732E4162737472616374696F6E732E43616C6C5469636B65742C583430324F726C65616E732E4162737472616374696F6E735D5D2C4F726C65616E732E53657269616C697A6174696F6E20E8000309030141056F6B413F68747470733A2F2F6170692E6578616D706C652E636F6D2F76312F64617461090305C10D4109302E30310101413568747470733A2F2F6170692E6578616D706C652E636F6D2F7631410D707265666978011DE0E0";

    // Grain calls as sent over the wire: the invokable request object, named by ("inv", proxy, interface, method id).
    private const string BeginCallRequestV0 = "30013E432C88BF2822696E76222C5B477261696E5265665D2C5B583430324F726C65616E732E4162737472616374696F6E732E4953657373696F6E477261696E2C583430324F726C65616E732E4162737472616374696F6E735D2C2246324635364636452229400F6167656E742D31413F68747470733A2F2F6170692E6578616D706C652E636F6D2F76312F646174614121AAAAAAAA222233334444555555555555E0";

    private const string OpenRequestV0 = "3001C5CBBABCBF2822696E76222C5B477261696E5265665D2C5B583430324F726C65616E732E4162737472616374696F6E732E4953657373696F6E477261696E2C583430324F726C65616E732E4162737472616374696F6E735D2C223934364237424637222920E8400F6167656E742D31413568747470733A2F2F6170692E6578616D706C652E636F6D2F7631410D707265666978410B6C6162656C81008064F8921700004109302E303101034109312E3030410D6964656D2D31E0E0";

    // Persisted state as the storage providers store it (StateJsonSerializer: JSON without type names, so aliases cannot affect it).
    private const string SessionStateJsonV0 = @"{""schema_version"":1,""agent_id"":""agent-1"",""endpoint"":""https://api.example.com/v1"",""scope"":""prefix"",""label"":""label"",""status"":""active"",""created_at"":""2025-01-02T03:04:05+00:00"",""expires_at"":""2025-02-01T03:04:05+00:00"",""ended_at"":null,""call_count"":3,""last_used_at"":null,""reuse"":""pay_per_call"",""max_payment"":""0.01"",""allow_repeat_payments"":false,""resource_url"":null,""payments"":[{""network"":""eip155:84532"",""asset"":""0x036CbD53842c5426634e7929541eC2318f3dCF7e"",""symbol"":""USDC"",""decimals"":6,""amount_atomic"":""10000"",""pay_to"":""0x209693Bc6afc0C5328bA36FaF03C514EF312287C"",""payer"":""0x857b06519E91e3A54538791bDbb0E22373e36b66"",""transaction"":""0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"",""paid_at"":""2025-01-02T03:04:05+00:00"",""simulated"":true}],""pending"":[{""reservation_id"":""99999999-2222-3333-4444-555555555555"",""quote"":{""network"":""eip155:84532"",""asset"":""0x036CbD53842c5426634e7929541eC2318f3dCF7e"",""symbol"":""USDC"",""decimals"":6,""amount_atomic"":""10000"",""pay_to"":""0x209693Bc6afc0C5328bA36FaF03C514EF312287C"",""resource_url"":""https://api.example.com/v1/data"",""wallet"":"""",""agent_daily_limit_atomic"":null,""wallet_daily_limit_atomic"":null},""authorized_at"":""2025-01-02T03:04:05+00:00"",""budget_key"":""0xwallet/2025-01-02""}],""failure_reason"":null,""max_total"":null,""recent_call_ids"":[""aaaaaaaa-2222-3333-4444-555555555555""],""paid_totals"":[],""index_page"":4,""idempotency_key"":""idem-1""}";

    [Fact]
    public void GrainContracts_CarryUniqueAliases_EveryInterfaceMethodAndSerializedType()
    {
        var missing = new List<string>();
        var typeAliases = new Dictionary<string, string>(StringComparer.Ordinal);
        var duplicates = new List<string>();
        foreach (var type in ContractAssemblies.SelectMany(a => a.GetTypes()).Where(IsContract))
        {
            var alias = type.GetCustomAttribute<AliasAttribute>(inherit: false)?.Alias;
            if (alias is null)
            {
                missing.Add("type " + type.FullName);
            }
            else if (!typeAliases.TryAdd(alias, type.FullName!))
            {
                duplicates.Add($"type alias {alias}: {typeAliases[alias]} and {type.FullName}");
            }

            if (!type.IsInterface)
            {
                continue;
            }

            var methodAliases = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var method in type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            {
                var methodAlias = method.GetCustomAttribute<AliasAttribute>(inherit: false)?.Alias;
                if (methodAlias is null)
                {
                    missing.Add($"method {type.FullName}.{method.Name}");
                }
                else if (!methodAliases.TryAdd(methodAlias, method.Name))
                {
                    duplicates.Add($"method alias {methodAlias} on {type.FullName}: {methodAliases[methodAlias]} and {method.Name}");
                }
            }
        }

        Assert.True(missing.Count == 0, "Missing [Alias]: " + string.Join(", ", missing));
        Assert.True(duplicates.Count == 0, "Duplicate [Alias]: " + string.Join(", ", duplicates));
    }

    [Fact]
    public void Deserialize_ReadsPreviousVersion_SerializedTypes()
    {
        var serializer = NewSerializer();

        var ticket = serializer.Deserialize<CallTicket>(Convert.FromHexString(CallTicketV0))!;
        Assert.Equal(Ticket, ticket);
        Assert.Equal(Ticket, Assert.IsType<CallTicket>(serializer.Deserialize<object>(Convert.FromHexString(CallTicketAsObjectV0))));

        var snapshot = serializer.Deserialize<SessionSnapshot>(Convert.FromHexString(SessionSnapshotV0));
        Assert.Equal((SessionId, "agent-1", SessionStatus.Active, 3L, ReuseMode.PayPerCall, T0.AddHours(1)), (snapshot!.SessionId, snapshot.AgentId, snapshot.Status, snapshot.CallCount, snapshot.Reuse, snapshot.LastUsedAt!.Value));
        Assert.Equal(Receipt, Assert.Single(snapshot.Payments));
        Assert.Equal(new AssetTotal("eip155:84532", "0xasset", "USDC", 6, "10000", 1), Assert.Single(snapshot.PaidTotals));

        Assert.Equal(Command, serializer.Deserialize<OpenSessionCommand>(Convert.FromHexString(OpenSessionCommandV0)));
        Assert.Equal(TestData.Quote("10000"), serializer.Deserialize<PaymentQuote>(Convert.FromHexString(PaymentQuoteV0)));
        AssertState(serializer.Deserialize<SessionState>(Convert.FromHexString(SessionStateBinaryV0))!);

        // Where no type name is written (the static type is the runtime type), the aliased version writes the very same bytes.
        // Where one is (object fields, interface-typed collections such as SessionSnapshot.Payments, responses, requests), it
        // now writes the alias, i.e. the full name without the assembly name; the previous version resolves that by name.
        // (OpenSessionCommand gained fields since — fingerprint, attempt, timeout — and PaymentQuote its scheme (id 10, written as
        // a null for exact): the previous version skips them as unknown ids, so the earlier fields' bytes are unchanged.)
        Assert.Equal(CallTicketV0, Convert.ToHexString(serializer.SerializeToArray(ticket)));
        var quote = Convert.ToHexString(serializer.SerializeToArray(TestData.Quote("10000")));
        Assert.StartsWith(PaymentQuoteV0[..^2], quote, StringComparison.Ordinal);
        Assert.Equal(TestData.Quote("10000"), serializer.Deserialize<PaymentQuote>(Convert.FromHexString(quote)));
    }

    [Fact]
    public void Deserialize_ReadsPreviousVersion_GrainCallRequestsAndResponses()
    {
        var serializer = NewSerializer();

        var beginCall = Assert.IsAssignableFrom<IInvokable>(serializer.Deserialize<object>(Convert.FromHexString(BeginCallRequestV0)));
        Assert.Equal((nameof(ISessionGrain.BeginCall), typeof(ISessionGrain)), (beginCall.GetMethodName(), beginCall.GetInterfaceType()));
        Assert.Equal(("agent-1", "https://api.example.com/v1/data", CallId), ((string)beginCall.GetArgument(0)!, (string)beginCall.GetArgument(1)!, (Guid)beginCall.GetArgument(2)!));

        var open = Assert.IsAssignableFrom<IInvokable>(serializer.Deserialize<object>(Convert.FromHexString(OpenRequestV0)));
        Assert.Equal(nameof(ISessionGrain.Open), open.GetMethodName());
        Assert.Equal(Command, open.GetArgument(0));

        var response = Assert.IsType<Response<CallTicket>>(serializer.Deserialize<object>(Convert.FromHexString(BeginCallResponseV0)));
        Assert.Equal(Ticket, response.Result);
    }

    [Fact]
    public void Deserialize_ReadsPreviousVersion_PersistedSessionState()
    {
        // Grain state is stored by StateJsonSerializer (all storage providers in silo/X402Orleans.Silo use it): plain JSON
        // without type names, so [Alias] does not change stored rows; this guards that it still reads them.
        var state = new StateJsonSerializer().Deserialize<SessionState>(BinaryData.FromString(SessionStateJsonV0));
        AssertState(state!);
    }

    private static CallTicket Ticket => new(true, SessionErrorCode.None, "ok", "https://api.example.com/v1/data", ReuseMode.SignInWithX, "https://api.example.com/v1/data", "0.01", false, "https://api.example.com/v1", "prefix", 7);

    private static PaymentReceipt Receipt => TestData.Receipt("10000", T0);

    private static OpenSessionCommand Command => new("agent-1", "https://api.example.com/v1", "prefix", "label", TimeSpan.FromDays(30), "0.01", true, "1.00", "idem-1");

    private static void AssertState(SessionState state)
    {
        Assert.Equal((1, "agent-1", "https://api.example.com/v1", "label", SessionStatus.Active, T0, T0.AddDays(30), 3L, ReuseMode.PayPerCall, "0.01", 4L, "idem-1"),
            (state.SchemaVersion, state.AgentId, state.Endpoint, state.Label, state.Status, state.CreatedAt, state.ExpiresAt, state.CallCount, state.Reuse, state.MaxPayment, state.IndexPage!.Value, state.IdempotencyKey!));
        Assert.Equal(Receipt, Assert.Single(state.Payments));
        var pending = Assert.Single(state.Pending);
        Assert.Equal((ReservationId, TestData.Quote("10000"), T0, "0xwallet/2025-01-02"), (pending.ReservationId, pending.Quote, pending.AuthorizedAt, pending.BudgetKey));
        Assert.Equal(CallId, Assert.Single(state.RecentCallIds));
    }

    private static Serializer NewSerializer() =>
        new ServiceCollection()
            .AddSerializer(b => b.AddAssembly(typeof(ISessionGrain).Assembly).AddAssembly(typeof(SessionState).Assembly))
            .BuildServiceProvider()
            .GetRequiredService<Serializer>();

    private static bool IsContract(Type type) =>
        !(type.Namespace ?? string.Empty).StartsWith("OrleansCodeGen", StringComparison.Ordinal)
        && ((type.IsInterface && typeof(IAddressable).IsAssignableFrom(type))
            || type.IsDefined(typeof(GenerateSerializerAttribute), inherit: false)
            || (type.IsEnum && type.IsPublic));
}
