//! Customers: the seed customer Contoso first, then generated companies.

use serde_json::{Value, json};

use super::super::demo;
use super::{CUSTOMER_COUNT, Rng, guid_from, hex_id, link, without_nulls};

pub(super) struct Locale {
    pub(super) country: &'static str,
    pub(super) region: &'static str,
    pub(super) city: &'static str,
    pub(super) state: &'static str,
    pub(super) postal_code: &'static str,
    pub(super) street: &'static str,
    pub(super) number_first: bool,
    pub(super) phone_prefix: &'static str,
    pub(super) culture: &'static str,
    pub(super) language: &'static str,
    pub(super) currency_code: &'static str,
    pub(super) currency_symbol: &'static str,
}

#[rustfmt::skip]
const LOCALES: [Locale; 10] = [
    Locale { country: "US", region: "Washington", city: "Redmond", state: "WA", postal_code: "98052", street: "Main Street", number_first: true, phone_prefix: "+1 425 555 ", culture: "en-US", language: "en", currency_code: "USD", currency_symbol: "$" },
    Locale { country: "US", region: "Texas", city: "Austin", state: "TX", postal_code: "78701", street: "Congress Avenue", number_first: true, phone_prefix: "+1 512 555 ", culture: "en-US", language: "en", currency_code: "USD", currency_symbol: "$" },
    Locale { country: "GB", region: "England", city: "London", state: "", postal_code: "EC1A 1BB", street: "Aldersgate Street", number_first: true, phone_prefix: "+44 20 7946 ", culture: "en-GB", language: "en", currency_code: "GBP", currency_symbol: "£" },
    Locale { country: "DE", region: "Berlin", city: "Berlin", state: "BE", postal_code: "10117", street: "Friedrichstraße", number_first: false, phone_prefix: "+49 30 9018 ", culture: "de-DE", language: "de", currency_code: "EUR", currency_symbol: "€" },
    Locale { country: "FR", region: "Île-de-France", city: "Paris", state: "", postal_code: "75008", street: "Rue du Faubourg Saint-Honoré", number_first: true, phone_prefix: "+33 1 4268 ", culture: "fr-FR", language: "fr", currency_code: "EUR", currency_symbol: "€" },
    Locale { country: "BR", region: "Sudeste", city: "São Paulo", state: "SP", postal_code: "01310-100", street: "Avenida Paulista", number_first: false, phone_prefix: "+55 11 3065 ", culture: "pt-BR", language: "pt", currency_code: "BRL", currency_symbol: "R$" },
    Locale { country: "JP", region: "Kantō", city: "Tokyo", state: "", postal_code: "100-0005", street: "Marunouchi", number_first: false, phone_prefix: "+81 3 5224 ", culture: "ja-JP", language: "ja", currency_code: "JPY", currency_symbol: "¥" },
    Locale { country: "AU", region: "New South Wales", city: "Sydney", state: "NSW", postal_code: "2000", street: "George Street", number_first: true, phone_prefix: "+61 2 9370 ", culture: "en-AU", language: "en", currency_code: "AUD", currency_symbol: "$" },
    Locale { country: "CA", region: "Ontario", city: "Toronto", state: "ON", postal_code: "M5H 2N2", street: "Bay Street", number_first: true, phone_prefix: "+1 416 555 ", culture: "en-CA", language: "en", currency_code: "CAD", currency_symbol: "$" },
    Locale { country: "NL", region: "Noord-Holland", city: "Amsterdam", state: "", postal_code: "1012 AB", street: "Damrak", number_first: false, phone_prefix: "+31 20 794 ", culture: "nl-NL", language: "nl", currency_code: "EUR", currency_symbol: "€" },
];

/// Company name stems and the ASCII form used in their domains. A few carry
/// apostrophes, ampersands and accents so encoding mistakes surface.
const NAME_STEMS: [(&str, &str); 40] = [
    ("Fabrikam", "fabrikam"),
    ("Northwind Traders", "northwind"),
    ("Adventure Works", "adventureworks"),
    ("Tailspin Toys", "tailspintoys"),
    ("Wide World Importers", "wideworldimporters"),
    ("Woodgrove Bank", "woodgrove"),
    ("Litware", "litware"),
    ("Proseware", "proseware"),
    ("Trey Research", "treyresearch"),
    ("Alpine Ski House", "alpineskihouse"),
    ("Coho Winery", "cohowinery"),
    ("Fourth Coffee", "fourthcoffee"),
    ("Lamna Healthcare", "lamnahealthcare"),
    ("Margie's Travel", "margiestravel"),
    ("Relecloud", "relecloud"),
    ("Wingtip Toys", "wingtiptoys"),
    ("Blue Yonder Airlines", "blueyonder"),
    ("Humongous Insurance", "humongousinsurance"),
    ("Lucerne Publishing", "lucernepublishing"),
    ("Graphic Design Institute", "graphicdesigninstitute"),
    ("School of Fine Art", "fineartschool"),
    ("VanArsdel", "vanarsdel"),
    ("A. Datum", "adatum"),
    ("Consolidated Messenger", "consolidatedmessenger"),
    ("Southridge Video", "southridgevideo"),
    ("City Power & Light", "citypowerlight"),
    ("Bellows College", "bellowscollege"),
    ("Best For You Organics", "bestforyouorganics"),
    ("Nod Publishers", "nodpublishers"),
    ("Tasmanian Traders", "tasmaniantraders"),
    ("Munson's Pickles and Preserves", "munsonspickles"),
    ("Baldwin Museum of Science", "baldwinmuseum"),
    ("First Up Consultants", "firstupconsultants"),
    ("Fincher Architects", "fincherarchitects"),
    ("Datum Óptica", "datumoptica"),
    ("Café Münster", "cafemuenster"),
    (
        "Liberty's Delightful Sinful Bakery & Cafe",
        "libertysbakery",
    ),
    ("Contoso Pharmaceuticals", "contosopharma"),
    ("Wide World Foods", "wideworldfoods"),
    ("Trey Sports", "treysports"),
];

const NAME_QUALIFIERS: [&str; 32] = [
    "Holdings",
    "Logistics",
    "Consulting",
    "Retail",
    "Labs",
    "Health",
    "Energy",
    "Media",
    "Foods",
    "Capital",
    "Systems",
    "Studios",
    "Outfitters",
    "Partners",
    "Manufacturing",
    "Analytics",
    "Design",
    "Travel",
    "Education",
    "Robotics",
    "Marine",
    "Aerospace",
    "Legal",
    "Pharma",
    "Solar",
    "Motors",
    "Hospitality",
    "Textiles",
    "Farms",
    "Security",
    "Networks",
    "Insurance",
];

// Every generated customer needs a distinct (stem, qualifier) pair.
const _: () = assert!(CUSTOMER_COUNT - 1 <= NAME_STEMS.len() * NAME_QUALIFIERS.len());

const FIRST_NAMES: [&str; 16] = [
    "Tania",
    "Alex",
    "Megan",
    "Adele",
    "Diego",
    "Isaiah",
    "Johanna",
    "Lynne",
    "Nestor",
    "Patti",
    "Pradeep",
    "Grady",
    "Lee",
    "Miriam",
    "Joni",
    "Henrietta",
];

const LAST_NAMES: [&str; 16] = [
    "Carr",
    "Wilber",
    "Bowen",
    "Vance",
    "Siciliani",
    "Langer",
    "Lorenz",
    "Robbins",
    "Wilke",
    "Fernandez",
    "Gupta",
    "Archie",
    "Gu",
    "Graham",
    "Sherman",
    "Mueller",
];

pub(crate) struct Customer {
    pub(crate) id: String,
    pub(super) commerce_id: String,
    pub(super) company_name: String,
    pub(super) domain: String,
    pub(super) custom_domains: Vec<String>,
    pub(super) locale: &'static Locale,
    pub(super) address_line1: String,
    /// A suite or floor, for some companies.
    pub(super) address_line2: Option<String>,
    pub(super) phone_number: String,
    pub(super) first_name: &'static str,
    pub(super) last_name: &'static str,
    pub(super) email: String,
    pub(super) billing_profile_id: String,
    pub(super) relationship: &'static str,
    pub(super) allow_delegated_access: bool,
}

impl Customer {
    pub(super) fn generate(position: usize) -> Self {
        if position == 0 {
            return Self::contoso();
        }
        let mut rng = Rng::new(&format!("customer/{position}"));
        let pair = position - 1;
        let (stem, stem_domain) = NAME_STEMS[pair % NAME_STEMS.len()];
        let qualifier = NAME_QUALIFIERS[pair / NAME_STEMS.len()];
        let domain_label = format!("{stem_domain}{}", qualifier.to_ascii_lowercase());
        let custom_domains = match rng.below(10) {
            0..=5 => vec![format!("{domain_label}.com")],
            6 => vec![format!("{domain_label}.com"), format!("{domain_label}.net")],
            _ => Vec::new(),
        };
        let domain = format!("{domain_label}.onmicrosoft.com");
        let locale = rng.pick(&LOCALES);
        let first_name = *rng.pick(&FIRST_NAMES);
        let last_name = *rng.pick(&LAST_NAMES);
        let mail_domain = custom_domains.first().unwrap_or(&domain);
        let email = format!(
            "{}.{}@{mail_domain}",
            first_name.to_ascii_lowercase(),
            last_name.to_ascii_lowercase()
        );
        let number = 1 + rng.below(2500);
        let address_line1 = if locale.number_first {
            format!("{number} {}", locale.street)
        } else {
            format!("{} {number}", locale.street)
        };
        // Its own generator, so that the fields drawn above stay what they were before it was added.
        let mut line2 = Rng::new(&format!("address-line2/{position}"));
        let address_line2 = match line2.below(6) {
            0 => Some(format!("Suite {}", 100 + line2.below(900))),
            1 => Some(format!("Floor {}", 2 + line2.below(30))),
            _ => None,
        };
        let id = guid_from(&format!("customer-id/{position}"));
        Self {
            commerce_id: guid_from(&format!("commerce-id/{id}")),
            billing_profile_id: guid_from(&format!("billing-profile/{id}")),
            id,
            company_name: format!("{stem} {qualifier}"),
            domain,
            custom_domains,
            locale,
            address_line1,
            address_line2,
            phone_number: format!("{}{:04}", locale.phone_prefix, rng.below(10_000)),
            first_name,
            last_name,
            email,
            relationship: if rng.one_in(10) {
                "advisor"
            } else {
                "reseller"
            },
            allow_delegated_access: !rng.one_in(7),
        }
    }

    fn contoso() -> Self {
        Self {
            id: demo::SEED_CUSTOMER_ID.to_owned(),
            commerce_id: guid_from(&format!("commerce-id/{}", demo::SEED_CUSTOMER_ID)),
            company_name: "Contoso".to_owned(),
            domain: "contoso.onmicrosoft.com".to_owned(),
            custom_domains: vec!["contoso.com".to_owned()],
            locale: &LOCALES[0],
            address_line1: "One Microsoft Way".to_owned(),
            address_line2: None,
            phone_number: "+1 425 555 0100".to_owned(),
            first_name: "Tania",
            last_name: "Carr",
            email: "tania.carr@contoso.com".to_owned(),
            billing_profile_id: guid_from(&format!("billing-profile/{}", demo::SEED_CUSTOMER_ID)),
            relationship: "reseller",
            allow_delegated_access: true,
        }
    }

    pub(crate) fn company_name(&self) -> &str {
        &self.company_name
    }

    pub(super) fn self_uri(&self) -> String {
        format!("/customers/{}", self.id)
    }

    /// The shape of an item in `GET /v1/customers`.
    pub(crate) fn summary(&self) -> Value {
        json!({
            "id": self.id,
            "companyProfile": {
                "tenantId": self.id,
                "domain": self.domain,
                "companyName": self.company_name,
            },
            "relationshipToPartner": self.relationship,
            "allowDelegatedAccess": self.allow_delegated_access,
            "links": { "self": link(self.self_uri()) },
            "attributes": { "objectType": "Customer" },
        })
    }

    /// The shape of `GET /v1/customers/{id}`.
    pub(crate) fn detail(&self) -> Value {
        let locale = self.locale;
        without_nulls(json!({
            "id": self.id,
            "commerceId": self.commerce_id,
            "companyProfile": {
                "tenantId": self.id,
                "domain": self.domain,
                "companyName": self.company_name,
                "address": {
                    "country": locale.country,
                    "region": locale.region,
                    "city": locale.city,
                    "state": locale.state,
                    "addressLine1": self.address_line1,
                    "addressLine2": self.address_line2,
                    "postalCode": locale.postal_code,
                    "phoneNumber": self.phone_number,
                },
                "email": self.email,
                "links": { "self": link(format!("{}/profiles/company", self.self_uri())) },
                "attributes": { "objectType": "CustomerCompanyProfile" },
            },
            "billingProfile": {
                "id": self.billing_profile_id,
                "firstName": self.first_name,
                "lastName": self.last_name,
                "email": self.email,
                "culture": locale.culture,
                "language": locale.language,
                "companyName": self.company_name,
                "defaultAddress": {
                    "country": locale.country,
                    "region": locale.region,
                    "city": locale.city,
                    "state": locale.state,
                    "addressLine1": self.address_line1,
                    "addressLine2": self.address_line2,
                    "postalCode": locale.postal_code,
                    "firstName": self.first_name,
                    "lastName": self.last_name,
                    "phoneNumber": self.phone_number,
                },
                "links": { "self": link(format!("{}/profiles/billing", self.self_uri())) },
                "attributes": {
                    "etag": hex_id(&format!("billing-etag/{}", self.id), 16),
                    "objectType": "CustomerBillingProfile",
                },
            },
            "relationshipToPartner": self.relationship,
            "allowDelegatedAccess": self.allow_delegated_access,
            "customDomains": self.custom_domains,
            "links": { "self": link(self.self_uri()) },
            "attributes": { "objectType": "Customer" },
        }))
    }
}
