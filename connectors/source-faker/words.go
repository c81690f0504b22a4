package main

// Word lists for the generated records: plain ASCII, so they are appended
// to JSON without escaping.
var (
	firstNames = []string{"Ada", "Alan", "Grace", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances", "Edsger",
		"Radia", "Niklaus", "Sophie", "Tim", "Katherine", "John", "Hedy", "Donald", "Shafi", "Leslie",
		"Mary", "Rob", "Adele", "Brian", "Jean", "Guido", "Anita", "Bjarne", "Lynn", "James", "Evelyn", "Yukihiro"}
	lastNames = []string{"Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson", "Allen",
		"Dijkstra", "Perlman", "Wirth", "Wilson", "Berners-Lee", "Johnson", "McCarthy", "Lamarr", "Knuth",
		"Goldwasser", "Lamport", "Keller", "Pike", "Goldberg", "Kernighan", "Sammet", "Rossum", "Borg", "Stroustrup"}
	titles      = []string{"Mr.", "Ms.", "Mrs.", "Dr.", "Prof.", "Mx."}
	domains     = []string{"example.com", "example.org", "example.net", "mail.test", "corp.test", "inbox.test"}
	genders     = []string{"Female", "Male", "Other", "Fluid"}
	languages   = []string{"English", "French", "German", "Spanish", "Portuguese", "Japanese", "Hindi", "Swahili", "Polish", "Korean"}
	degrees     = []string{"Bachelor", "Master", "PhD", "None"}
	nations     = []string{"American", "Brazilian", "Canadian", "French", "German", "Indian", "Japanese", "Kenyan", "Polish", "Spanish"}
	occupations = []string{"Engineer", "Teacher", "Nurse", "Designer", "Farmer", "Pilot", "Chef", "Lawyer", "Librarian", "Analyst", "Carpenter", "Pharmacist"}
	bloodTypes  = []string{"O+", "O-", "A+", "A-", "B+", "B-", "AB+", "AB-"}
	streets     = []string{"Main Street", "Oak Avenue", "Pine Road", "Maple Lane", "Cedar Court", "Elm Street", "Lake View", "Hill Road", "River Walk", "Station Road"}
	cities      = []string{"Springfield", "Riverton", "Fairview", "Lakeside", "Greenville", "Kingston", "Ashford", "Brookfield", "Clayton", "Dover"}
	states      = []string{"California", "Texas", "Ontario", "Bavaria", "Normandy", "Kansai", "Maharashtra", "Nairobi", "Masovia", "Andalusia"}
	provinces   = []string{"North", "South", "East", "West", "Central"}
	countries   = []string{"US", "BR", "CA", "FR", "DE", "IN", "JP", "KE", "PL", "ES"}
	makes       = []string{"Mazda", "Toyota", "Ford", "Honda", "Volvo", "Fiat", "Skoda", "Kia", "Subaru", "Peugeot"}
	models      = []string{"MX-5", "Corolla", "Focus", "Civic", "V70", "Panda", "Octavia", "Rio", "Outback", "208"}
	adjectives  = []string{"reliable", "sporty", "compact", "roomy", "efficient", "classic", "rugged", "quiet"}
)
