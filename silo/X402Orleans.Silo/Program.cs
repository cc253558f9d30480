Console.WriteLine("X402Orleans: nothing to run yet (the silo and gateway arrive with the session-grain issue).");
